import { beforeAll, describe, expect, it } from 'vitest';
import type { Call, CallStatus, CallStore, MediaUpOptions, MongoCallStore, TransitionOptions, TransitionResult } from '../../../shared/calls/index.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import type { SignalNode } from '../../../signal/main.js';
import { redisClient } from '../../helpers/services.js';
import { until } from '../../helpers/signal-cluster.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import type { SignalClient } from '../../helpers/ws-client.js';

/**
 * The real call store with injectable storage failures: the next `n` transitions fail the way a
 * busy or unreachable database fails them, either before touching storage (`before`) or after the
 * write was made and only its reply was lost (`after`).
 */
class FlakyCallStore implements CallStore {
  attempts = 0;
  #failures = 0;
  #mode: 'before' | 'after' = 'before';

  constructor(private readonly real: MongoCallStore) {}

  failTransitions(n: number, mode: 'before' | 'after' = 'before'): void {
    this.#failures = n;
    this.#mode = mode;
    this.attempts = 0;
  }

  create(call: Call): Promise<Call> {
    return this.real.create(call);
  }

  get(id: string): Promise<Call | null> {
    return this.real.get(id);
  }

  findStaleRinging(before: Date, limit: number): Promise<Call[]> {
    return this.real.findStaleRinging(before, limit);
  }

  markMediaUp(id: string, options: MediaUpOptions): Promise<TransitionResult> {
    return this.real.markMediaUp(id, options);
  }

  async transition(id: string, to: CallStatus, options?: TransitionOptions): Promise<TransitionResult> {
    this.attempts += 1;
    if (this.#failures <= 0) return this.real.transition(id, to, options);
    this.#failures -= 1;
    if (this.#mode === 'after') await this.real.transition(id, to, options);
    throw Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 1 });
  }
}

const h = useSignalHarness('sigstorage');
const prefix = h.prefix;
let node: SignalNode;
let url: string;
let store: MongoCallStore;
let flaky: FlakyCallStore;

const joined = (call: Call, peer: 'host' | 'guest'): Promise<SignalClient> => h.joined(url, call, peer);

function activeCall() {
  flaky.failTransitions(0);
  return h.activeCall(url, url, 5000);
}

/** Internal `call-state` events of `callId` into `to`, as billing would see them. */
function transitionsInto(callId: string, to: CallStatus): { count(): number; off(): void } {
  let n = 0;
  const off = node.events.on('call-state', (e) => { if (e.callId === callId && e.to === to) n++; });
  return { count: () => n, off };
}

beforeAll(async () => {
  ({ node, url, store } = await h.local(
    h.redisEnv({ SIGNAL_RECONNECT_GRACE_MS: '1000', SIGNAL_SWEEP_MS: '100' }),
    (real) => (flaky = new FlakyCallStore(real)),
  ));
});

describe('call transitions when storage fails', () => {
  it('retries a hangup whose transition fails, acks it once the call is ended, and announces it once', async () => {
    const { call, guest, host } = await activeCall();
    const ended = transitionsInto(call.id, 'ended');
    flaky.failTransitions(2);
    const reply = await guest.request('hangup');
    expect(reply.type).toBe('ack');
    expect(flaky.attempts).toBe(3);
    expect(await store.get(call.id)).toMatchObject({ status: 'ended', end_reason: 'hangup' });
    const state = await host.waitType('call-state', 5000, (f) => f.data.status === 'ended');
    expect(state.data.end_reason).toBe('hangup');
    // The ack precedes the call-state on the hanging-up socket, and then the socket closes.
    const order = guest.frames.map((f) => (f.id === reply.id ? 'ack' : f.type === 'call-state' && f.data.status === 'ended' ? 'ended' : null)).filter(Boolean);
    expect(order).toEqual(['ack', 'ended']);
    expect((await guest.waitClose()).code).toBe(CLOSE_CODES.CALL_ENDED);
    expect(ended.count()).toBe(1);
    ended.off();
  });

  it('counts a transition whose write was made before the error as made: one event, one call-state', async () => {
    const { call, guest, host } = await activeCall();
    const ended = transitionsInto(call.id, 'ended');
    flaky.failTransitions(1, 'after');
    expect((await host.request('hangup')).type).toBe('ack');
    expect(flaky.attempts).toBe(2);
    expect(await store.get(call.id)).toMatchObject({ status: 'ended', end_reason: 'hangup', version: 2 });
    await guest.waitType('call-state', 5000, (f) => f.data.status === 'ended');
    expect(ended.count()).toBe(1);
    expect(guest.frames.filter((f) => f.type === 'call-state' && f.data.status === 'ended')).toHaveLength(1);
    ended.off();
  });

  it('answers service_unavailable when every attempt fails, leaves the call as it was, and a resent hangup ends it', async () => {
    const { call, guest, host } = await activeCall();
    flaky.failTransitions(Number.POSITIVE_INFINITY);
    const startedAt = Date.now();
    const reply = await guest.request('hangup');
    expect(reply).toMatchObject({ type: 'error', data: { code: 'service_unavailable' } });
    expect(flaky.attempts).toBe(5);
    expect(Date.now() - startedAt).toBeGreaterThan(1500);
    expect((await store.get(call.id))?.status).toBe('active');
    expect(guest.isOpen && host.isOpen).toBe(true);
    expect(host.frames.some((f) => f.type === 'call-state' && f.data.status === 'ended')).toBe(false);

    flaky.failTransitions(0);
    expect((await guest.request('hangup')).type).toBe('ack');
    expect(await store.get(call.id)).toMatchObject({ status: 'ended', end_reason: 'hangup' });
    await host.waitType('call-state', 5000, (f) => f.data.status === 'ended');
  });

  it('retries an activation that storage refused on every attempt from the sweep, while both peers stay connected', async () => {
    flaky.failTransitions(0);
    const call = await h.call();
    const guest = await joined(call, 'guest');
    const activated = transitionsInto(call.id, 'active');
    // One join's five attempts fail; the sixth attempt comes from a sweep.
    flaky.failTransitions(5);
    const host = await joined(call, 'host');
    await Promise.all([guest, host].map((c) => c.waitType('call-state', 15000, (f) => f.data.status === 'active')));
    expect(flaky.attempts).toBeGreaterThanOrEqual(6);
    expect((await store.get(call.id))?.status).toBe('active');
    expect(activated.count()).toBe(1);
    activated.off();
  }, 30000);

  it('acks a hangup of a call that is already over without changing it', async () => {
    const { call, guest, host } = await activeCall();
    // Ended behind the node's back (as another node or the API would), without an announcement.
    await store.transition(call.id, 'ended', { reason: 'insufficient_funds' });
    expect((await guest.request('hangup')).type).toBe('ack');
    const state = await host.waitType('call-state', 5000, (f) => f.data.status === 'ended');
    expect(state.data.end_reason).toBe('insufficient_funds');
    expect((await store.get(call.id))?.end_reason).toBe('insufficient_funds');
  });

  it('keeps a grace expiry whose transition keeps failing, and ends the call on a later sweep', async () => {
    const { call, guest, host } = await activeCall();
    const ended = transitionsInto(call.id, 'ended');
    // More failures than one claim's attempts (5): only a second claim of the expiry can end it.
    flaky.failTransitions(7);
    guest.kill();
    await host.waitType('peer-left', 5000, (f) => f.data.peer === 'guest');
    const state = await host.waitType('call-state', 30000, (f) => f.data.status === 'ended');
    expect(state.data.end_reason).toBe('failure');
    expect(flaky.attempts).toBe(8);
    expect(await store.get(call.id)).toMatchObject({ status: 'ended', end_reason: 'failure' });
    expect(ended.count()).toBe(1);
    ended.off();
    const r = redisClient();
    await until(async () => (await r.zscore(`${prefix}:grace`, `${call.id}\nguest`)) === null, 5000, 'grace entry released');
    r.disconnect();
  }, 40000);
});
