import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/runtime/logger.js';
import { connectMongo } from '../../../shared/runtime/mongo/connect.js';
import { loadKeyRing } from '../../../shared/tokens/index.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { startProduct, type Product } from '../../../scripts/start.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { testConfig } from '../../helpers/config.js';
import { mongoUrl, uniqueName } from '../../helpers/services.js';
import { useSignalHarness, type HarnessTarget } from '../../helpers/signal-harness.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { call, makeGuest, makeHost, type Actor } from '../users/fixtures.js';

interface Api { url: string }

async function post(api: Api, path: string, token: string): Promise<any> {
  // The hosts' links are paid: a join names a card, held on the real stripe-mock.
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  const join = path.startsWith('/v1/calls/join/');
  if (join) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${api.url}${path}`, { method: 'POST', headers, ...(join ? { body: JSON.stringify({ payment_method_id: 'pm_card_visa' }) } : {}) });
  const body = await res.json() as any;
  expect(res.status, JSON.stringify(body)).toBeLessThan(300);
  return body.data;
}

/** A guest opens the host's link: the call and the guest's signaling token. */
async function openCall(t: TestApi, host: Actor): Promise<{ callId: string; guestToken: string; guestId: string }> {
  const link = (await call(t, 'POST', '/v1/calls/links', { token: host.token, body: {} })).body.data;
  const guest = await makeGuest(t);
  const joined = await post(t, `/v1/calls/join/${link.short_code}`, guest.token);
  return { callId: joined.call.id, guestToken: joined.signaling.token, guestId: guest.id };
}

let stripe: StripeMock;
beforeAll(async () => { stripe = await startStripeMock(); });
afterAll(async () => { await stripe.stop(); });
const stripeEnv = () => ({ STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: stripe.url });

/** The database and keys of the API under test, for the signal harness's nodes. */
const apiTarget = (t: TestApi): HarnessTarget => ({ db: t.db, name: t.config.mongo.database, keys: { dir: t.config.auth.keysDir, ring: t.keyRing } });

describe('call transitions made by the API reach every signal node (Redis)', () => {
  let t: TestApi;
  const urls: string[] = [];

  beforeAll(async () => {
    t = await startTestApi({ withRedis: true, env: { ...stripeEnv(), CALL_RING_TIMEOUT_SEC: '2', CALL_SWEEP_INTERVAL_MS: '200' } });
  });
  afterAll(async () => {
    await t?.stop();
  });
  // Registered after the API's hooks: its nodes and clients go before the API does.
  const h = useSignalHarness('announce', { on: () => apiTarget(t) });
  beforeAll(async () => {
    for (let i = 0; i < 2; i += 1) urls.push((await h.local(h.redisEnv({ NODE_ID: uniqueName(`n${i}`) }, t.config.redis.prefix))).url);
  });
  const connect = (url: string, token: string) => h.connectWith(url, token);

  it('POST /v1/calls/:id/end pushes call-state ended to both peers on their two nodes and closes them with 4504', async () => {
    const host = await makeHost(t);
    const { callId, guestToken } = await openCall(t, host);
    const hostToken = (await post(t, `/v1/calls/${callId}/host-join`, host.token)).signaling.token;
    const guest = await connect(urls[0]!, guestToken);
    const hostSocket = await connect(urls[1]!, hostToken);
    await guest.join();
    await hostSocket.join();
    const [active] = await Promise.all([guest, hostSocket].map((c) => c.waitType('call-state', 10000, (f) => f.data.status === 'active')));

    const ended = await post(t, `/v1/calls/${callId}/end`, host.token);
    expect(ended).toMatchObject({ status: 'ended', end_reason: 'hangup' });
    for (const c of [guest, hostSocket]) {
      const state = await c.waitType('call-state', 10000, (f) => f.data.status === 'ended');
      expect(state.data).toMatchObject({ call_id: callId, status: 'ended', end_reason: 'hangup' });
      expect(state.data.version).toBeGreaterThan(active!.data.version);
      expect((await c.waitClose()).code).toBe(CLOSE_CODES.CALL_ENDED);
    }
  });

  it('a host who never joins: the ring-timeout sweep makes the call missed and the waiting guest is told and closed', async () => {
    const host = await makeHost(t);
    const { callId, guestToken } = await openCall(t, host);
    const guest = await connect(urls[1]!, guestToken);
    expect((await guest.join()).data.call.status).toBe('waiting');
    const state = await guest.waitType('call-state', 15000, (f) => f.data.status === 'missed');
    expect(state.data).toMatchObject({ call_id: callId, status: 'missed', end_reason: 'timeout' });
    expect((await guest.waitClose()).code).toBe(CLOSE_CODES.CALL_ENDED);
    expect((await call(t, 'GET', `/v1/calls/${callId}`, { token: host.token })).body.data.status).toBe('missed');
  });
});

describe('call transitions made by the API reach the signal node of the same process (all mode, no Redis)', () => {
  let product: Product;
  let t: TestApi;
  let closeDb: () => Promise<void>;

  beforeAll(async () => {
    const database = uniqueName('all');
    const config = testConfig({ ...stripeEnv(), MONGO_URL: mongoUrl(), MONGO_DB: database });
    product = await startProduct('all', config, createLogger({ level: config.logLevel }));
    const handle = await connectMongo(mongoUrl(), database);
    closeDb = async () => { await handle.db.dropDatabase().catch(() => undefined); await handle.close(); };
    const keyRing = loadKeyRing(config.auth.keysDir, { generateIfEmpty: false });
    t = { url: `http://127.0.0.1:${product.api!.port}`, config, db: handle.db, keyRing, api: { ...product.api!, routes: [] }, stop: async () => undefined };
  });

  afterAll(async () => {
    await product?.stop();
    await closeDb?.();
  });
  // Registered after the product's hooks: its clients go before the product does.
  const h = useSignalHarness('announceall', { on: () => apiTarget(t) });

  it('sees a host connected to the in-process node as online, and POST /v1/calls/:id/end reaches its sockets', async () => {
    const host = await makeHost(t);
    const first = await openCall(t, host);
    expect((await call(t, 'GET', `/v1/calls/${first.callId}`, { token: host.token })).body.data.status).toBe('waiting');
    const hostToken = (await post(t, `/v1/calls/${first.callId}/host-join`, host.token)).signaling.token;
    const signalUrl = `ws://127.0.0.1:${product.signal!.port}`;
    const hostSocket = await h.connectWith(signalUrl, hostToken);
    await hostSocket.join();

    const second = await openCall(t, host);
    expect((await call(t, 'GET', `/v1/calls/${second.callId}`, { token: host.token })).body.data.status).toBe('ringing');

    const guest = await h.connectWith(signalUrl, first.guestToken);
    await guest.join();
    await guest.waitType('call-state', 10000, (f) => f.data.status === 'active');
    await post(t, `/v1/calls/${first.callId}/end`, host.token);
    for (const c of [guest, hostSocket]) {
      await c.waitType('call-state', 10000, (f) => f.data.status === 'ended' && f.data.end_reason === 'hangup');
      expect((await c.waitClose()).code).toBe(CLOSE_CODES.CALL_ENDED);
    }
  });
});
