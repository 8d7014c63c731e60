import { describe, expect, it } from 'vitest';
import { decodeNodeMessage, encodeNodeMessage, type NodeMessage } from '../../../signal/calls/node-channel.js';

const body = '{"type":"offer","data":{"from":"host","sdp":"v=0\\r\\n"}}';

/** One message of each kind, with the exact bytes the node channel carried before the codec (mixed-version clusters read both). */
const cases: Array<[string, NodeMessage, string]> = [
  ['d with a hint', { kind: 'd', callId: 'c1', peer: 'guest', t0: 1712.5, hop: 1, hint: { peer: 'host', node: 'n1', state: 'connected' }, body },
    `d\nc1\nguest\n1712.5\n1\nhost|n1|connected\n${body}`],
  ['d without a hint', { kind: 'd', callId: 'c1', peer: 'guest', t0: 0, hop: 0, hint: undefined, body }, `d\nc1\nguest\n0\n0\n\n${body}`],
  ['x', { kind: 'x', callId: 'c1', peer: 'host', knownSeq: 42, conn: 'conn-7' }, 'x\nc1\nhost\n42\n0\n\nconn-7'],
  ['x without last_seq', { kind: 'x', callId: 'c1', peer: 'host', knownSeq: -1, conn: 'conn-7' }, 'x\nc1\nhost\n-1\n0\n\nconn-7'],
  ['r with frames', { kind: 'r', callId: 'c1', peer: 'host', frames: ['{"seq":3,"type":"a"}', '{"seq":4,"type":"b"}'] }, 'r\nc1\nhost\n0\n0\n\n{"seq":3,"type":"a"}\n{"seq":4,"type":"b"}'],
  ['r with none', { kind: 'r', callId: 'c1', peer: 'host', frames: [] }, 'r\nc1\nhost\n0\n0\n\n'],
  ['h', { kind: 'h', callId: 'c1', peer: 'guest', hint: { peer: 'guest', node: 'n2', state: 'connected' } }, 'h\nc1\nguest\n0\n0\nguest|n2|connected\n'],
];

describe('node channel codec', () => {
  it.each(cases)('encodes %s in the wire layout', (_name, message, wire) => {
    expect(encodeNodeMessage(message)).toBe(wire);
  });

  it.each(cases)('decodes %s back to the same message', (_name, message, wire) => {
    expect(decodeNodeMessage(wire)).toEqual(message);
  });

  it('keeps newlines-free JSON bodies intact, including `|` and escaped newlines', () => {
    const tricky = '{"type":"offer","data":{"from":"a|b","sdp":"x\\ny"}}';
    const m = decodeNodeMessage(encodeNodeMessage({ kind: 'd', callId: 'c', peer: 'p', t0: 1, hop: 0, hint: undefined, body: tricky }));
    expect(m).toMatchObject({ kind: 'd', body: tricky });
  });

  it('ignores a truncated message and an unknown kind', () => {
    expect(decodeNodeMessage('d\nc1\nguest\n0\n0')).toBeNull();
    expect(decodeNodeMessage('')).toBeNull();
    expect(decodeNodeMessage('z\nc1\nguest\n0\n0\n\nx')).toBeNull();
  });
});
