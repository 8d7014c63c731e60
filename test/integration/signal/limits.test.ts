import { beforeAll, describe, expect, it } from 'vitest';
import type { MongoCallStore } from '../../../shared/calls/index.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { signToken } from '../../../shared/tokens/index.js';
import { ISSUER, createCall, makeKeys, peerToken, until } from '../../helpers/signal-cluster.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import { SignalClient } from '../../helpers/ws-client.js';

const h = useSignalHarness('signallimits');
const keys = h.keys;
const node = (env: Record<string, string>) => h.local(env);

async function pair(url: string, store: MongoCallStore, opts: { join?: boolean } = {}) {
  const call = await createCall(store);
  const guest = await h.connect(url, call, 'guest');
  const host = await h.connect(url, call, 'host');
  if (opts.join !== false) {
    await guest.join();
    await host.join();
  }
  return { call, guest, host };
}

describe('per-socket limits (in-process broker, memory directory)', () => {
  let url: string;
  let store: MongoCallStore;
  beforeAll(async () => {
    ({ url, store } = await node({
      SIGNAL_MAX_FRAME_BYTES: '2048', SIGNAL_RATE_PER_SEC: '5', SIGNAL_RATE_BURST: '5', SIGNAL_MAX_SOCKETS_PER_USER: '2',
      SIGNAL_JOIN_TIMEOUT_MS: '400', SIGNAL_IDLE_TIMEOUT_MS: '900', SIGNAL_MAX_VIOLATIONS: '3', SIGNAL_TIMER_MS: '50',
    }));
  });

  it('answers malformed JSON, unknown types and schema violations with error frames, then closes after the limit', async () => {
    const { guest } = await pair(url, store);
    guest.send('{not json');
    expect((await guest.next((f) => f.type === 'error')).data).toMatchObject({ code: 'validation_error', message: 'Frame is not valid JSON.' });
    const unknown = await guest.request('teleport', {});
    expect(unknown).toMatchObject({ type: 'error', data: { code: 'validation_error', message: 'Unknown message type.' } });
    expect(guest.isOpen).toBe(true);
    const bad = await guest.request('offer', { sdp: 42, extra: true });
    expect(bad.type).toBe('error');
    expect(bad.data.details).toMatchObject({ 'data.sdp': 'must be string' });
    expect((await guest.waitClose()).code).toBe(CLOSE_CODES.POLICY_VIOLATION);
  });

  it('refuses binary frames and relays before join', async () => {
    const { guest } = await pair(url, store, { join: false });
    guest.send(Buffer.from([1, 2, 3]));
    expect((await guest.next((f) => f.type === 'error')).data.message).toBe('Frames must be JSON text.');
    const early = await guest.request('offer', { sdp: 'v=0' });
    expect(early.data.code).toBe('forbidden');
  });

  it('closes a socket sending a frame above the size limit with 4503', async () => {
    const { guest } = await pair(url, store);
    guest.send({ type: 'offer', data: { sdp: 'x'.repeat(3000) } });
    expect((await guest.next((f) => f.type === 'error')).data.code).toBe('payload_too_large');
    expect((await guest.waitClose()).code).toBe(CLOSE_CODES.FRAME_TOO_LARGE);
  });

  it('drops a socket whose frame exceeds twice the size limit at the WebSocket layer (1006), and serves the rest', async () => {
    const { guest, host } = await pair(url, store);
    guest.send({ type: 'offer', data: { sdp: 'x'.repeat(5000) } });
    expect((await guest.waitClose()).code).toBe(1006);
    expect(guest.frames.some((f) => f.type === 'error')).toBe(false);
    expect(await host.request('ping', { ts: 1 })).toMatchObject({ type: 'pong', data: { ts: 1 } });
    const left = await host.waitType('peer-left', 5000, (f) => f.data.peer === 'guest');
    expect(left.data).toMatchObject({ reason: 'disconnected', reconnecting: true });
  });

  it('rate-limits with a token bucket: error frames, then close 4501', async () => {
    const { guest } = await pair(url, store);
    for (let i = 0; i < 12; i += 1) guest.send({ type: 'ping', id: `p${i}` });
    // The refused frame's reply carries its id, so a client waiting on it is not left hanging.
    const refused = await guest.waitType('error');
    expect(refused.data.code).toBe('rate_limited');
    expect(refused.id).toMatch(/^p\d+$/);
    expect(guest.frames.filter((f) => f.type === 'pong').length).toBeGreaterThan(0);
    expect((await guest.waitClose()).code).toBe(CLOSE_CODES.RATE_LIMITED);
  });

  it('closes the socket beyond the per-user limit with 4502', async () => {
    const call = await createCall(store);
    const token = await peerToken(keys.ring, call, 'guest');
    const a = await h.connectWith(url, token);
    const b = await h.connectWith(url, token);
    const c = await h.connectWith(url, token);
    expect((await c.waitType('error')).data.code).toBe('rate_limited');
    expect((await c.waitClose()).code).toBe(CLOSE_CODES.TOO_MANY_SOCKETS);
    expect(a.isOpen && b.isOpen).toBe(true);
  });

  it('closes a socket that does not join in time with 4002', async () => {
    const { guest } = await pair(url, store, { join: false });
    expect((await guest.waitClose()).code).toBe(CLOSE_CODES.JOIN_TIMEOUT);
  });

  it('closes an idle socket with 4003 while one that pings stays open', async () => {
    const { guest, host } = await pair(url, store);
    const pinger = setInterval(() => host.send({ type: 'ping' }), 200);
    try {
      expect((await guest.waitClose()).code).toBe(CLOSE_CODES.IDLE_TIMEOUT);
      expect(host.isOpen).toBe(true);
    } finally {
      clearInterval(pinger);
    }
  });
});

describe('slow consumers', () => {
  it('drops a socket whose send buffer exceeds the limit with 4004', async () => {
    const started = await h.local({ SIGNAL_MAX_BUFFERED_BYTES: '65536', SIGNAL_RATE_PER_SEC: '100000', SIGNAL_RATE_BURST: '100000' });
    const { url, store } = started;
    const { guest, host } = await pair(url, store);
    const raw = (guest.ws as unknown as { _socket: { pause(): void } })._socket;
    raw.pause();
    const sdp = 'a'.repeat(40000);
    for (let i = 0; i < 600 && host.isOpen; i += 1) {
      host.send({ type: 'offer', data: { sdp } });
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const peerLeft = await host.waitType('peer-left', 15000);
    expect(peerLeft.data.peer).toBe('guest');
    (guest.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // The close frame may not fit behind the full buffer, so the client can see 1006; the server's count is exact.
    expect([CLOSE_CODES.BACKPRESSURE, 1006]).toContain((await guest.waitClose(15000)).code);
    const metrics = await started.node.metrics.registry.getSingleMetricAsString('signal_backpressure_drops_total');
    expect(metrics).toMatch(/signal_backpressure_drops_total 1$/m);
    expect(await started.node.metrics.registry.getSingleMetricAsString('signal_closes_total')).toContain('code="BACKPRESSURE"');
  });
});

describe('tokens', () => {
  let url: string;
  let store: MongoCallStore;
  beforeAll(async () => {
    ({ url, store } = await node({ SIGNAL_REAUTH_LEAD_MS: '100000', SIGNAL_REAUTH_GRACE_MS: '500', SIGNAL_TIMER_MS: '50' }));
  });

  it('refuses expired, wrong-audience and foreign-key tokens at upgrade with 401', async () => {
    const call = await createCall(store);
    const expired = await peerToken(keys.ring, call, 'guest', { now: Math.floor(Date.now() / 1000) - 400 });
    expect(await SignalClient.upgradeStatus(url, expired)).toBe(401);
    const access = await signToken(keys.ring, { role: 'user' }, { issuer: ISSUER, audience: 'api', subject: call.guest_id, ttlSec: 60 });
    expect(await SignalClient.upgradeStatus(url, access.token)).toBe(401);
    const other = makeKeys();
    expect(await SignalClient.upgradeStatus(url, await peerToken(other.ring, call, 'guest'))).toBe(401);
    expect(await SignalClient.upgradeStatus(url, '')).toBe(401);
    expect(await SignalClient.upgradeStatus(url, await peerToken(keys.ring, call, 'guest'), { via: 'protocol' })).toBe(101);
  });

  it('confines a token for call A to call A', async () => {
    const a = await pair(url, store);
    const b = await pair(url, store);
    const smuggled = await a.guest.request('offer', { sdp: 'v=0', call_id: b.call.id });
    expect(smuggled).toMatchObject({ type: 'error', data: { code: 'validation_error', details: { 'data.call_id': 'is not allowed' } } });
    const wrongPeer = await a.guest.request('offer', { sdp: 'v=0', to: 'guest' });
    expect(wrongPeer.data.code).toBe('validation_error');
    const reauthB = await a.guest.request('reauth', { token: await peerToken(keys.ring, b.call, 'guest') });
    expect(reauthB.data.code).toBe('forbidden');
    expect((await a.guest.request('ping', { ts: 5 })).data).toMatchObject({ ts: 5 });
    // A valid offer from A's guest reaches A's host, and by then nothing has reached call B.
    expect(await a.guest.request('offer', { sdp: 'for call A' })).toMatchObject({ type: 'ack', data: { delivered: 1 } });
    await a.host.waitType('offer', 5000, (f) => f.data.sdp === 'for call A');
    expect(b.host.frames.some((f) => f.type === 'offer') || b.guest.frames.some((f) => f.type === 'offer')).toBe(false);

    const intruder = await h.connectWith(url, await peerToken(keys.ring, b.call, 'guest', { sub: a.call.guest_id }));
    expect((await intruder.join()).data.code).toBe('forbidden');
    expect((await intruder.waitClose()).code).toBe(CLOSE_CODES.UNAUTHORIZED);
  });

  it('asks for reauth before expiry, accepts a fresh token for the same call and peer, and closes with 4001 without one', async () => {
    const call = await createCall(store);
    const renewing = await h.connectWith(url, await peerToken(keys.ring, call, 'guest', { ttlSec: 2 }));
    const lapsing = await h.connectWith(url, await peerToken(keys.ring, call, 'host', { ttlSec: 1 }));
    await renewing.join();
    await lapsing.join();
    const asked = await renewing.waitType('reauth-required');
    expect(asked.data.deadline).toBe(asked.data.expires_at + 500);
    const renewed = await renewing.request('reauth', { token: await peerToken(keys.ring, call, 'guest', { ttlSec: 300 }) });
    expect(renewed.type).toBe('ack');
    expect(renewed.data.expires_at).toBeGreaterThan(Date.now() + 200_000);
    expect((await lapsing.waitClose()).code).toBe(CLOSE_CODES.TOKEN_EXPIRED);
    await until(() => Date.now() > asked.data.deadline + 300, 10000, 'the old token\'s deadline to pass');
    expect(renewing.isOpen).toBe(true);
  });

  it('asks again before the renewed token expires, and closes with 4001 at its deadline, not the first one', async () => {
    const call = await createCall(store);
    const guest = await h.connectWith(url, await peerToken(keys.ring, call, 'guest', { ttlSec: 1 }));
    await guest.join();
    const first = await guest.waitType('reauth-required');
    const renewed = await guest.request('reauth', { token: await peerToken(keys.ring, call, 'guest', { ttlSec: 3 }) });
    expect(renewed.data.expires_at).toBeGreaterThan(first.data.expires_at);
    const second = await guest.waitType('reauth-required', 10000, (f) => f.data.expires_at === renewed.data.expires_at);
    expect(second.data.deadline).toBe(renewed.data.expires_at + 500);
    expect((await guest.waitClose(15000)).code).toBe(CLOSE_CODES.TOKEN_EXPIRED);
    expect(Date.now()).toBeGreaterThan(renewed.data.expires_at + 500);
  });

  it('holds a socket to a renewal that expires sooner than its first token', async () => {
    const call = await createCall(store);
    const guest = await h.connectWith(url, await peerToken(keys.ring, call, 'guest', { ttlSec: 600 }));
    await guest.join();
    const shorter = await guest.request('reauth', { token: await peerToken(keys.ring, call, 'guest', { ttlSec: 1 }) });
    expect(shorter.type).toBe('ack');
    const asked = await guest.waitType('reauth-required', 5000);
    expect(asked.data.expires_at).toBe(shorter.data.expires_at);
    expect((await guest.waitClose(5000)).code).toBe(CLOSE_CODES.TOKEN_EXPIRED);
  });
});
