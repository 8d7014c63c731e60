import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoCallStore, type Call, type CallStatus, type CallStore, type MediaUpOptions, type TransitionOptions, type TransitionResult } from '../../../shared/calls/index.js';
import type { SignalNode } from '../../../signal/main.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { freshDb, mongoUrl, redisUrl, uniqueName } from '../../helpers/services.js';
import { createCall, peerToken, startLocalNode, until } from '../../helpers/signal-cluster.js';
import { SignalClient } from '../../helpers/ws-client.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { call, makeGuest, makeHost, type Actor } from '../users/fixtures.js';

/** The hosts' links are paid: a join names a card (held on the real stripe-mock). */
const PAY = { payment_method_id: 'pm_card_visa' };

/** The real store, counting the transitions to `active` asked of it per call (the node's attempts). */
class CountingStore implements CallStore {
  readonly activations = new Map<string, number>();
  constructor(private readonly real: MongoCallStore) {}
  create(c: Call): Promise<Call> { return this.real.create(c); }
  get(id: string): Promise<Call | null> { return this.real.get(id); }
  findStaleRinging(before: Date, limit: number): Promise<Call[]> { return this.real.findStaleRinging(before, limit); }
  markMediaUp(id: string, options: MediaUpOptions): Promise<TransitionResult> { return this.real.markMediaUp(id, options); }
  transition(id: string, to: CallStatus, options?: TransitionOptions): Promise<TransitionResult> {
    if (to === 'active') this.activations.set(id, (this.activations.get(id) ?? 0) + 1);
    return this.real.transition(id, to, options);
  }
}

async function post(t: TestApi, path: string, token: string): Promise<{ status: number; body: any }> {
  const res = await call(t, 'POST', path, { token, ...(path.startsWith('/v1/calls/join/') ? { body: PAY } : {}) });
  return { status: res.status, body: res.body };
}

describe('one active call per host', () => {
  let t: TestApi;
  let stripe: StripeMock;
  let node: SignalNode;
  let url: string;
  let store: MongoCallStore;
  let counting: CountingStore;
  const clients: SignalClient[] = [];

  beforeAll(async () => {
    stripe = await startStripeMock();
    t = await startTestApi({ withRedis: true, env: { STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: stripe.url } });
    ({ node, url, store } = await startLocalNode({
      db: t.db, ring: t.keyRing, wrapStore: (real) => (counting = new CountingStore(real)),
      env: { REDIS_URL: redisUrl(), REDIS_PREFIX: t.config.redis.prefix, NODE_ID: uniqueName('hb'), SIGNAL_SWEEP_MS: '100' },
    }));
  });

  afterAll(async () => {
    for (const c of clients) c.kill();
    await node?.close();
    await t?.stop();
    await stripe?.stop();
  });

  const joined = async (token: string): Promise<SignalClient> => {
    const c = await SignalClient.connect(url, token);
    clients.push(c);
    const reply = await c.join();
    expect(reply.type, JSON.stringify(reply)).toBe('ack');
    return c;
  };

  async function guestCall(host: Actor, shortCode: string): Promise<{ id: string; token: string }> {
    const guest = await makeGuest(t);
    const res = await post(t, `/v1/calls/join/${shortCode}`, guest.token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.data.call.id, token: res.body.data.signaling.token };
  }

  it('refuses host-join of a second call with 409 host_busy, and never activates it while the first is active', async () => {
    const host = await makeHost(t);
    const link = (await call(t, 'POST', '/v1/calls/links', { token: host.token, body: {} })).body.data;
    const first = await guestCall(host, link.short_code);
    const second = await guestCall(host, link.short_code);
    expect((await store.get(second.id))!.status).toBe('waiting');

    const hostJoin1 = await post(t, `/v1/calls/${first.id}/host-join`, host.token);
    expect(hostJoin1.status).toBe(200);
    const sockets1 = [await joined(first.token), await joined(hostJoin1.body.data.signaling.token)];
    await Promise.all(sockets1.map((c) => c.waitType('call-state', 10000, (f) => f.data.status === 'active')));

    const hostJoin2 = await post(t, `/v1/calls/${second.id}/host-join`, host.token);
    expect(hostJoin2.status, JSON.stringify(hostJoin2.body)).toBe(409);
    expect(hostJoin2.body.error).toMatchObject({ code: 'conflict', details: { reason: 'host_busy' } });
    const reissue = await post(t, `/v1/calls/${second.id}/token`, host.token);
    expect(reissue.status).toBe(409);
    expect(reissue.body.error.details).toEqual({ reason: 'host_busy' });

    // The signal side holds too: both sockets of the second call join (a host token minted
    // directly, as a stale or leaked one would be); the node asks for activation and is refused.
    const call2 = (await store.get(second.id))!;
    const sockets2 = [await joined(second.token), await joined(await peerToken(t.keyRing, call2, 'host'))];
    await until(() => (counting.activations.get(second.id) ?? 0) >= 3, 10000, 'activation of the second call attempted and retried');
    expect((await store.get(second.id))!.status).not.toBe('active');
    expect((await store.get(first.id))!.status).toBe('active');

    // The host is released when the first call ends: the node's retry then activates the second.
    const ended = await post(t, `/v1/calls/${first.id}/end`, host.token);
    expect(ended.status).toBe(200);
    await Promise.all(sockets2.map((c) => c.waitType('call-state', 10000, (f) => f.data.status === 'active')));
    const [c1, c2] = [(await store.get(first.id))!, (await store.get(second.id))!];
    expect(c2.answered_at!.getTime()).toBeGreaterThanOrEqual(c1.ended_at!.getTime());
  });

  it('activates exactly one of two calls whose four sockets join at the same instant', async () => {
    const hostId = `u_host_${uniqueName('race')}`;
    const calls = [await createCall(store, { host_id: hostId, status: 'ringing' }), await createCall(store, { host_id: hostId, status: 'ringing' })];
    const sockets = await Promise.all(calls.flatMap((c) => (['guest', 'host'] as const).map(async (peer) => {
      const s = await SignalClient.connect(url, await peerToken(t.keyRing, c, peer));
      clients.push(s);
      return s;
    })));
    const replies = await Promise.all(sockets.map((s) => s.join()));
    for (const r of replies) expect(r.type).toBe('ack');
    const loser = await until(async () => {
      const states = await Promise.all(calls.map(async (c) => (await store.get(c.id))!.status));
      return states.includes('active') && calls.every((c) => (counting.activations.get(c.id) ?? 0) >= 1) ? calls[states.indexOf('active') === 0 ? 1 : 0]! : null;
    }, 10000, 'one call active and both attempted');
    // The other call's activation is refused, and refused again at the node's retries.
    await until(() => (counting.activations.get(loser.id) ?? 0) >= 3, 10000, 'activation of the other call retried');
    const states = await Promise.all(calls.map(async (c) => (await store.get(c.id))!.status));
    expect(states.filter((s) => s === 'active')).toHaveLength(1);
  });
});

describe('host claims in the call store under races (two clients, as two processes)', () => {
  let db: Awaited<ReturnType<typeof freshDb>>;
  let other: MongoClient;
  let a: MongoCallStore;
  let b: MongoCallStore;
  beforeAll(async () => {
    db = await freshDb('hostclaims');
    other = await MongoClient.connect(mongoUrl());
    a = new MongoCallStore(db.db);
    b = new MongoCallStore(other.db(db.name));
  });
  afterAll(async () => {
    await other?.close();
    await db?.drop();
  });

  it('lets exactly one of a host\'s calls become active, however many race; the host is free again once it ends', async () => {
    const hosts = Array.from({ length: 6 }, () => `u_host_${uniqueName('h')}`);
    const calls = await Promise.all(hosts.flatMap((hostId) => [0, 1, 2].map(() => createCall(a, { host_id: hostId, status: 'ringing' }))));
    const outcomes = await Promise.allSettled(calls.map((c, i) => (i % 2 ? a : b).transition(c.id, 'active')));
    for (const hostId of hosts) {
      const mine = calls.map((c, i) => ({ c, o: outcomes[i]! })).filter(({ c }) => c.host_id === hostId);
      const won = mine.filter(({ o }) => o.status === 'fulfilled' && o.value.changed);
      expect(won).toHaveLength(1);
      for (const { o } of mine.filter((m) => !won.includes(m))) {
        expect(o.status).toBe('rejected');
        expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict', details: { reason: 'host_busy' } });
      }
      const active = await Promise.all(mine.map(async ({ c }) => (await a.get(c.id))!.status));
      expect(active.filter((s) => s === 'active')).toHaveLength(1);
      expect(await b.hostBusyWith(hostId)).toBe(won[0]!.c.id);
      // Ended: the host is free, and a waiting call of it may become active.
      await b.transition(won[0]!.c.id, 'ended');
      expect(await a.hostBusyWith(hostId)).toBeNull();
      const next = mine.find((m) => !won.includes(m))!.c;
      expect((await a.transition(next.id, 'active')).changed).toBe(true);
    }
  });

  it('frees a host whose claim names a call that ended without releasing it (a release lost to an outage)', async () => {
    const hostId = `u_host_${uniqueName('lost')}`;
    const first = await createCall(a, { host_id: hostId, status: 'ringing' });
    await a.transition(first.id, 'active');
    // The end written straight to the document, as if the process died before its release.
    await db.db.collection('calls').updateOne({ _id: first.id as never }, { $set: { status: 'ended', end_reason: 'hangup' } });
    expect(await a.hostBusyWith(hostId)).toBeNull();
    const second = await createCall(a, { host_id: hostId, status: 'ringing' });
    expect((await b.transition(second.id, 'active')).changed).toBe(true);
  });
});
