import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveMongo, type ResolvedMongo } from '../../../shared/runtime/mongo/resolve.js';
import type { SignalNode } from '../../../signal/main.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { createCall, peerToken, startLocalNode, until } from '../../helpers/signal-cluster.js';
import { SignalClient } from '../../helpers/ws-client.js';
import { makeHost, makeUser, type Actor } from '../users/fixtures.js';
import { MongoCallStore } from '../../../shared/calls/index.js';
import { spawnRedis, type SpawnedRedis } from '../../../shared/runtime/redis-server.js';
import { startProductProcess, type ProductProcess } from '../../helpers/product-process.js';
import { mongoUrl, uniqueName } from '../../helpers/services.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';

/** The hosts' links are paid: a join names a card (held on the real stripe-mock). */
const PAY = { payment_method_id: 'pm_card_visa' };

/** The signal tier's documented bound (SIGNAL_STORE_TIMEOUT_MS default) plus scheduling slack on a loaded machine. */
const WS_BOUND_MS = 3000 + 2000;
/** The REST bound documented in docs/operations.md (about 5 s) plus slack. */
const REST_BOUND_MS = 5000 + 3000;

/**
 * A database that stops answering, on a FerretDB of this test's own (the suite's is shared), with
 * the API and a signal node on it: every reply still comes within its bound, and says
 * `service_unavailable`; service resumes when the database does.
 */
describe('storage outage: bounded, documented errors', () => {
  let mongo: ResolvedMongo;
  let stripe: StripeMock;
  let t: TestApi;
  let node: SignalNode;
  let url: string;
  let store: MongoCallStore;
  let host: Actor;
  let user: Actor;
  let shortCode: string;
  const clients: SignalClient[] = [];

  beforeAll(async () => {
    mongo = await resolveMongo({ dataDir: '.data/unused', ephemeral: true });
    expect(mongo.pid).toBeTypeOf('number');
    stripe = await startStripeMock();
    t = await startTestApi({ mongoUrl: mongo.url, env: { STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: stripe.url } });
    ({ node, url, store } = await startLocalNode({ db: t.db, ring: t.keyRing, env: { SIGNAL_JOIN_TIMEOUT_MS: '120000' } }));
    host = await makeHost(t);
    user = await makeUser(t, 'user');
    shortCode = (await request('POST', '/v1/calls/links', { token: host.token, body: {} })).body.data.short_code;
  });

  afterAll(async () => {
    for (const c of clients) c.kill();
    if (mongo?.pid) try { process.kill(mongo.pid, 'SIGCONT'); } catch { /* gone */ }
    await node?.close();
    await t?.stop();
    await mongo?.stop();
    await stripe?.stop();
  });

  /** One request that must be answered within `boundMs` (the fetch is aborted, failing the test, past it). */
  async function request(method: string, path: string, options: { token?: string; body?: unknown } = {}, boundMs = 60000) {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}), ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(boundMs),
    });
    return { status: res.status, headers: res.headers, body: await res.json() as any };
  }

  /** guest-session, join and users/me, at once, each within REST_BOUND_MS. */
  async function threeRoutes() {
    const guest = await makeGuestToken();
    const started = Date.now();
    const replies = await Promise.all([
      request('POST', '/v1/auth/guest-session', { body: {} }, REST_BOUND_MS),
      request('POST', `/v1/calls/join/${shortCode}`, { token: guest, body: PAY }, REST_BOUND_MS),
      request('GET', '/v1/users/me', { token: user.token }, REST_BOUND_MS),
    ]);
    console.info(`three routes answered ${replies.map((r) => r.status).join('/')} in ${Date.now() - started} ms`);
    return replies;
  }

  /** Guest access tokens minted while the database answered, for joins during the outage. */
  let guestTokens: string[] = [];
  async function makeGuestToken(): Promise<string> {
    const token = guestTokens.pop();
    if (!token) throw new Error('no guest token left');
    return token;
  }
  async function mintGuestTokens(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i += 1) out.push((await request('POST', '/v1/auth/guest-session', { body: {} })).body.access_token);
    return out;
  }

  function expectUnavailable(replies: Array<{ status: number; headers: Headers; body: any }>): void {
    for (const r of replies) {
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.body.error.code).toBe('service_unavailable');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  }

  async function expectServed(): Promise<void> {
    // The driver needs a heartbeat to see the server again: a bounded poll, then every route serves.
    await until(async () => (await request('GET', '/v1/users/me', { token: user.token })).status === 200, 15000, 'API served again');
    const guest = await request('POST', '/v1/auth/guest-session', { body: {} });
    expect(guest.status).toBe(201);
    const joined = await request('POST', `/v1/calls/join/${shortCode}`, { token: guest.body.access_token, body: PAY });
    expect(joined.status, JSON.stringify(joined.body)).toBe(201);
  }

  it('a WebSocket join on a stopped database gets service_unavailable within SIGNAL_STORE_TIMEOUT_MS, and joins once it resumes', async () => {
    const call = await createCall(store);
    const guest = await SignalClient.connect(url, await peerToken(t.keyRing, call, 'guest'));
    clients.push(guest);
    process.kill(mongo.pid!, 'SIGSTOP');
    try {
      const reply = await guest.request('join', {}, WS_BOUND_MS);
      expect(reply).toMatchObject({ type: 'error', data: { code: 'service_unavailable' } });
    } finally {
      process.kill(mongo.pid!, 'SIGCONT');
    }
    const again = await guest.request('join', {}, 15000);
    expect(again.type, JSON.stringify(again)).toBe('ack');
    expect(again.data.call).toMatchObject({ call_id: call.id, status: 'waiting' });
  });

  it('REST on a stopped (SIGSTOP) database: 503 service_unavailable with Retry-After within the bound, then normal service', async () => {
    guestTokens = await mintGuestTokens(1);
    process.kill(mongo.pid!, 'SIGSTOP');
    try {
      expectUnavailable(await threeRoutes());
    } finally {
      process.kill(mongo.pid!, 'SIGCONT');
    }
    await expectServed();
  });

  it('REST on a killed database: 503 service_unavailable with Retry-After within the bound', async () => {
    guestTokens = await mintGuestTokens(2);
    process.kill(mongo.pid!, 'SIGKILL');
    await until(() => { try { process.kill(mongo.pid!, 0); return false; } catch { return true; } }, 10000, 'database process gone');
    expectUnavailable(await threeRoutes());
    // And again, once the driver has marked the server unreachable.
    expectUnavailable(await threeRoutes());
  });
});

/**
 * Redis that stops answering (SIGSTOP) under a product process in `api` mode: requests neither
 * hang nor fail; rate limits fall back to memory after the 1 s command timeout.
 */
describe('Redis outage: REST keeps answering', () => {
  let redis: SpawnedRedis;
  let product: ProductProcess;
  beforeAll(async () => {
    redis = await spawnRedis();
    product = await startProductProcess('api', { MONGO_URL: mongoUrl(), MONGO_DB: uniqueName('redisout'), REDIS_URL: redis.url, REDIS_PREFIX: uniqueName('ro') });
  });
  afterAll(async () => {
    try { process.kill(redis.server.process.pid!, 'SIGCONT'); } catch { /* gone */ }
    product?.kill('SIGKILL');
    await product?.exited;
    await redis?.stop();
  });

  it('answers guest-session and a link lookup within the bound while Redis is stopped, and after it resumes', async () => {
    const base = `http://127.0.0.1:${product.apiPort}`;
    const ask = async (path: string, method = 'GET') => {
      const res = await fetch(`${base}${path}`, {
        method, signal: AbortSignal.timeout(REST_BOUND_MS),
        ...(method === 'POST' ? { headers: { 'Content-Type': 'application/json' }, body: '{}' } : {}),
      });
      return { status: res.status, body: await res.json() as any };
    };
    expect((await ask('/v1/auth/guest-session', 'POST')).status).toBe(201);
    process.kill(redis.server.process.pid!, 'SIGSTOP');
    try {
      const [guest, info] = await Promise.all([ask('/v1/auth/guest-session', 'POST'), ask('/v1/calls/links/nosuchcode2/info')]);
      expect(guest.status, JSON.stringify(guest.body)).toBe(201);
      expect(info.status, JSON.stringify(info.body)).toBe(404);
    } finally {
      process.kill(redis.server.process.pid!, 'SIGCONT');
    }
    expect((await ask('/v1/auth/guest-session', 'POST')).status).toBe(201);
  });
});
