import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_SCHEMAS, CLIENT_TYPES, MAX_CANDIDATE_CHARS, MAX_SDP_CHARS, parseClientFrame, type ParsedFrame } from '../../../shared/protocol/index.js';
import { PROJECT_ROOT } from '../../../shared/runtime/paths.js';

/** The client examples of docs/signaling.md: the first json block after "Examples:". */
function documentedClientExamples(): string[] {
  const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'signaling.md'), 'utf8');
  const start = doc.indexOf('```json', doc.indexOf('Examples:'));
  const end = doc.indexOf('```', start + 7);
  return doc.slice(start + 7, end).split('\n').map((l) => l.trim()).filter(Boolean);
}

function failure(parsed: ParsedFrame): Extract<ParsedFrame, { ok: false }> {
  if (parsed.ok) throw new Error(`expected a failure, got ${JSON.stringify(parsed.message)}`);
  return parsed;
}

const parse = (frame: unknown) => parseClientFrame(JSON.stringify(frame));

describe('parseClientFrame: valid frames', () => {
  const examples = documentedClientExamples();

  it('has a documented example of every client type', () => {
    const types = new Set(examples.map((l) => (JSON.parse(l) as { type: string }).type));
    expect([...types].sort()).toEqual([...CLIENT_TYPES].sort());
  });

  it.each(examples)('parses the documented example %s', (line) => {
    const parsed = parseClientFrame(line);
    expect(parsed).toEqual({ ok: true, message: { data: {}, ...JSON.parse(line) } });
  });

  it.each(CLIENT_TYPES)('parses the schema example of %s', (type) => {
    const example = CLIENT_SCHEMAS[type]['x-example'];
    expect(parse(example)).toMatchObject({ ok: true, message: { type } });
  });

  it('fills in an empty data object when a type allows none', () => {
    expect(parseClientFrame('{"type":"hangup","id":"9"}')).toEqual({ ok: true, message: { type: 'hangup', id: '9', data: {} } });
    expect(parseClientFrame('{"type":"join"}')).toEqual({ ok: true, message: { type: 'join', data: {} } });
    // Every field of these two is optional, so is their data.
    expect(parseClientFrame('{"type":"renegotiate"}')).toEqual({ ok: true, message: { type: 'renegotiate', data: {} } });
    expect(parseClientFrame('{"type":"ice-restart","id":"r"}')).toEqual({ ok: true, message: { type: 'ice-restart', id: 'r', data: {} } });
  });

  it('accepts the limits themselves: SDP and candidate line at their maximum, a 64-char id', () => {
    expect(parse({ type: 'offer', data: { sdp: 'x'.repeat(MAX_SDP_CHARS) } }).ok).toBe(true);
    expect(parse({ type: 'ice-candidate', data: { candidate: { candidate: 'c'.repeat(MAX_CANDIDATE_CHARS) } } }).ok).toBe(true);
    expect(parse({ type: 'ping', id: 'a'.repeat(64), data: {} }).ok).toBe(true);
    expect(parse({ type: 'offer', data: { sdp: 'v=0', to: 'guest' } }).ok).toBe(true);
  });
});

describe('parseClientFrame: refused frames', () => {
  it('refuses text that is not JSON, without an id', () => {
    expect(parseClientFrame('{not json')).toEqual({ ok: false, message: 'Frame is not valid JSON.' });
    expect(parseClientFrame('')).toEqual({ ok: false, message: 'Frame is not valid JSON.' });
  });

  it.each(['[]', '[{"type":"ping"}]', 'null', '42', '"join"', 'true'])('refuses the non-object %s', (text) => {
    expect(parseClientFrame(text)).toEqual({ ok: false, message: 'Frame must be a JSON object.' });
  });

  it('refuses an unknown or missing type, listing the known ones and echoing a valid id', () => {
    const unknown = failure(parse({ type: 'teleport', id: 'r1', data: {} }));
    expect(unknown).toEqual({ ok: false, id: 'r1', message: 'Unknown message type.', details: { type: `must be one of: ${CLIENT_TYPES.join(', ')}` } });
    expect(failure(parse({ id: 'r2', data: {} }))).toMatchObject({ id: 'r2', message: 'Unknown message type.' });
    expect(failure(parse({ type: 7 }))).toMatchObject({ message: 'Unknown message type.' });
    // Inherited names are not types.
    expect(failure(parse({ type: 'toString' }))).toMatchObject({ message: 'Unknown message type.' });
  });

  it('names a missing required field', () => {
    expect(failure(parse({ type: 'offer', id: 'o1', data: {} }))).toEqual({ ok: false, id: 'o1', message: 'Frame failed validation.', details: { 'data.sdp': 'is required' } });
    expect(failure(parse({ type: 'offer' })).details).toEqual({ data: 'is required' });
    expect(failure(parse({ type: 'mute-state', data: { audio: true } })).details).toEqual({ 'data.video': 'is required' });
    expect(failure(parse({ type: 'reauth', data: {} })).details).toEqual({ 'data.token': 'is required' });
  });

  it('names an extra field, in data or at the top level', () => {
    expect(failure(parse({ type: 'offer', data: { sdp: 'v=0', call_id: 'x' } })).details).toEqual({ 'data.call_id': 'is not allowed' });
    expect(failure(parse({ type: 'ping', data: {}, seq: 1 })).details).toEqual({ seq: 'is not allowed' });
    expect(failure(parse({ type: 'hangup', data: { reason: 'bye' } })).details).toEqual({ 'data.reason': 'is not allowed' });
    expect(failure(parse({ type: 'ice-candidate', data: { candidate: { candidate: 'c', foo: 1 } } })).details).toMatchObject({ 'data.candidate.foo': 'is not allowed' });
    expect(failure(parseClientFrame('{"type":"ping","constructor":{},"data":{"toString":1}}')).details).toEqual({ constructor: 'is not allowed', 'data.toString': 'is not allowed' });
  });

  it('refuses a last_seq beyond 2^50 (counting on from it would lose precision)', () => {
    expect(parse({ type: 'join', data: { last_seq: 2 ** 50 } }).ok).toBe(true);
    expect(failure(parse({ type: 'join', data: { last_seq: 2 ** 53 } })).details).toEqual({ 'data.last_seq': 'must be at most 1125899906842624' });
    expect(failure(parseClientFrame('{"type":"join","data":{"last_seq":1e300}}')).details).toEqual({ 'data.last_seq': 'must be at most 1125899906842624' });
  });

  it('names wrongly typed fields', () => {
    expect(failure(parse({ type: 'offer', data: { sdp: 42, extra: true } })).details).toEqual({ 'data.sdp': 'must be string', 'data.extra': 'is not allowed' });
    expect(failure(parse({ type: 'join', data: { last_seq: -1 } })).details).toEqual({ 'data.last_seq': 'must be at least 0' });
    expect(failure(parse({ type: 'join', data: { last_seq: 1.5 } })).details).toEqual({ 'data.last_seq': 'must be integer' });
    expect(failure(parse({ type: 'ping', data: { ts: 'now' } })).details).toEqual({ 'data.ts': 'must be number' });
    expect(failure(parse({ type: 'join', data: [] })).details).toEqual({ data: 'must be object' });
  });

  it('takes a media-state of the RTCPeerConnection states a client reports, and nothing else', () => {
    for (const state of ['connecting', 'connected', 'disconnected', 'failed']) expect(parse({ type: 'media-state', data: { state } }).ok).toBe(true);
    expect(failure(parse({ type: 'media-state', data: {} })).details).toEqual({ 'data.state': 'is required' });
    expect(Object.keys(failure(parse({ type: 'media-state', data: { state: 'up' } })).details ?? {})).toEqual(['data.state']);
    expect(Object.keys(failure(parse({ type: 'media-state', data: { state: 'new' } })).details ?? {})).toEqual(['data.state']);
    // Never relayed: it names no peer.
    expect(failure(parse({ type: 'media-state', data: { state: 'connected', to: 'host' } })).details).toEqual({ 'data.to': 'is not allowed' });
  });

  it('refuses an SDP or candidate line over its limit, and an empty SDP', () => {
    expect(failure(parse({ type: 'offer', data: { sdp: 'x'.repeat(MAX_SDP_CHARS + 1) } })).details).toEqual({ 'data.sdp': `must be at most ${MAX_SDP_CHARS} characters` });
    expect(failure(parse({ type: 'answer', data: { sdp: '' } })).details).toEqual({ 'data.sdp': 'must be at least 1 characters' });
    expect(failure(parse({ type: 'ice-restart', data: { sdp: 'x'.repeat(MAX_SDP_CHARS + 1) } })).details).toEqual({ 'data.sdp': `must be at most ${MAX_SDP_CHARS} characters` });
    const candidate = failure(parse({ type: 'ice-candidate', data: { candidate: { candidate: 'c'.repeat(MAX_CANDIDATE_CHARS + 1) } } }));
    expect(candidate.message).toBe('Frame failed validation.');
    expect(candidate.details).toMatchObject({ 'data.candidate.candidate': `must be at most ${MAX_CANDIDATE_CHARS} characters` });
  });

  it.each([['Guest'], ['host guest'], [''], ['x'.repeat(33)], [7]])('refuses the malformed `to` %j', (to) => {
    const details = failure(parse({ type: 'offer', id: 't1', data: { sdp: 'v=0', to } })).details;
    expect(Object.keys(details ?? {})).toEqual(['data.to']);
  });

  it.each([[''], ['has space'], ['x'.repeat(65)], ['semi;colon'], [12]])('refuses the bad id %j and does not echo it', (id) => {
    const parsed = failure(parse({ type: 'ping', id, data: {} }));
    expect(parsed).toEqual({ ok: false, message: 'Frame failed validation.', details: { id: expect.any(String) } });
    expect(parsed.id).toBeUndefined();
  });

  it('echoes a valid id even when the rest fails', () => {
    expect(failure(parse({ type: 'answer', id: 'a.b:c-d_9', data: {} })).id).toBe('a.b:c-d_9');
  });
});
