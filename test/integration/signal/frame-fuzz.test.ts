import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TYPES } from '../../../shared/protocol/messages.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import type { Frame, SignalClient } from '../../helpers/ws-client.js';

/** `error` frame codes documented in docs/signaling.md. */
const ERROR_CODES = ['validation_error', 'forbidden', 'unauthorized', 'not_found', 'gone', 'conflict', 'rate_limited', 'payload_too_large', 'service_unavailable'];
/**
 * Close codes a misbehaving client may get (docs/signaling.md): violations, rate, size, call over,
 * and 1006 for what the WebSocket layer itself cuts off (a frame over twice the limit, invalid UTF-8).
 */
const CLOSES = [4500, 4501, 4503, 4504, 1006];
const MAX_FRAME_BYTES = 8192;

const h = useSignalHarness('framefuzz');
let url: string;

beforeAll(async () => {
  ({ url } = await h.local({ SIGNAL_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES), SIGNAL_JOIN_TIMEOUT_MS: '60000' }));
});

const id = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), fc.string({ maxLength: 80 }), fc.integer(), fc.constant(null));
const peer = fc.oneof(fc.constantFrom('host', 'guest', 'nobody'), fc.string({ maxLength: 40 }));
const sdp = fc.oneof(fc.string({ maxLength: 200 }), fc.constant(''), fc.integer(), fc.constant('v=0\r\n'.repeat(2000)));
const candidate = fc.oneof(
  fc.constant(null),
  fc.record({ candidate: fc.string({ maxLength: 1100 }), sdpMid: fc.option(fc.string({ maxLength: 70 })), sdpMLineIndex: fc.option(fc.integer({ min: -5, max: 300 })) }, { requiredKeys: ['candidate'] }),
  fc.jsonValue({ maxDepth: 3 }),
);
/** `data` shaped like each schema's fields, with wrong types, lengths and extra keys mixed in. */
const data = fc.oneof(
  fc.record({ sdp, to: peer }, { requiredKeys: [] }),
  fc.record({ candidate, to: peer }, { requiredKeys: [] }),
  fc.record({ last_seq: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 60), fc.constant(-1)) }, { requiredKeys: [] }),
  fc.record({ audio: fc.jsonValue({ maxDepth: 1 }), video: fc.boolean() }, { requiredKeys: [] }),
  fc.record({ token: fc.oneof(fc.string({ maxLength: 100 }), fc.constant('e'.repeat(9000))), reason: fc.string({ maxLength: 80 }), ts: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
  fc.jsonValue({ maxDepth: 3 }),
);
/** One client frame: a typed object (every client type and some unknown ones), raw text, deep nesting, binary, or an oversized frame. */
const frame: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.oneof(fc.constantFrom(...CLIENT_TYPES), fc.string({ maxLength: 20 })), id, data }, { requiredKeys: ['type'] }).map((f) => JSON.stringify(f)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((depth) => `{"type":"offer","data":${'['.repeat(depth)}${']'.repeat(depth)}}`) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.constantFrom(MAX_FRAME_BYTES + 1, MAX_FRAME_BYTES * 3).map((n) => JSON.stringify({ type: 'offer', data: { sdp: 'x'.repeat(n) } })) },
);

/** The honest call's relay still works: a candidate from the host reaches the guest. */
async function relayWorks(host: SignalClient, guest: SignalClient, n: number): Promise<void> {
  const got = guest.next((f) => f.type === 'ice-candidate' && f.data.candidate.candidate === `candidate:${n}`, 5000);
  host.send({ type: 'ice-candidate', data: { candidate: { candidate: `candidate:${n}` } } });
  await got;
}

describe('generated frames of every type against a node (fast-check)', () => {
  it('never crash it: each gets a documented error frame or close, within bounded time, and another call keeps relaying', async () => {
    const { host, guest } = await h.activeCall(url);
    let run = 0;

    await fc.assert(fc.asyncProperty(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: 8 }), async (joinFirst, frames) => {
      run += 1;
      const fuzz = await h.connect(url, await h.call(), run % 2 === 0 ? 'host' : 'guest');
      try {
        if (joinFirst) await fuzz.join();
        for (const f of frames) fuzz.send(f);
        // Bounded: the node answers a ping sent after them, or has closed the socket, within 5 s.
        const outcome = await Promise.race([
          fuzz.next((f) => f.type === 'pong' && f.id === 'probe', 5000).then(() => 'answered' as const),
          fuzz.closed.then(() => 'closed' as const),
          (async () => { fuzz.send({ type: 'ping', id: 'probe' }); return new Promise<never>(() => undefined); })(),
        ]).catch(() => 'timeout' as const);
        expect(outcome).not.toBe('timeout');
        for (const f of fuzz.frames.filter((x: Frame) => x.type === 'error')) expect(ERROR_CODES, JSON.stringify(f)).toContain(f.data.code);
        if (outcome === 'closed') expect(CLOSES, JSON.stringify(fuzz.closeInfo)).toContain(fuzz.closeInfo!.code);
      } finally {
        fuzz.kill();
      }
      await relayWorks(host, guest, run);
    }), { numRuns: 60, interruptAfterTimeLimit: 150000 });

    expect(run).toBeGreaterThan(10);
    expect(host.isOpen && guest.isOpen).toBe(true);
    expect((await host.request('ping', {})).type).toBe('pong');
  }, 240000);
});
