import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoCallStore } from '../../../shared/calls/index.js';
import { createTokenVerifier } from '../../../shared/tokens/index.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { until } from '../../helpers/poll.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { call, makeGuest, makeHost, makeUser, type Actor } from '../users/fixtures.js';

const TURN_SECRET = 'integration-turn-secret-0123456789';
/** The hosts' links are paid: a join names a card (held on the real stripe-mock). */
const PAY = { payment_method_id: 'pm_card_visa' };

async function newLink(t: TestApi, host: Actor, body: Record<string, unknown> = {}): Promise<{ id: string; short_code: string }> {
  const res = await call(t, 'POST', '/v1/calls/links', { token: host.token, body });
  expect(res.status).toBe(201);
  return res.body.data;
}

let stripe: StripeMock;
beforeAll(async () => { stripe = await startStripeMock(); });
afterAll(async () => { await stripe.stop(); });
const stripeEnv = () => ({ STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: stripe.url });

describe('calls: join, host-join, tokens, end, read, history', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ env: { ...stripeEnv(), TURN_URLS: '["turn:turn.example.test:3478?transport=udp"]', TURN_SECRET, STUN_URLS: '["stun:stun.example.test:3478"]' } });
  });
  afterAll(async () => { await t.stop(); });

  it('lets a guest join: a waiting call, a 5-minute signaling token and ICE servers with a TURN credential', async () => {
    const host = await makeHost(t);
    const link = await newLink(t, host, { max_duration_sec: 900 });
    const guest = await makeGuest(t);
    const res = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: guest.token, body: PAY });
    expect(res.status).toBe(201);
    const { call: c, signaling, ice_servers } = res.body.data;
    expect(c).toMatchObject({ status: 'waiting', host_id: host.user.id, guest_id: guest.id, guest_role: 'guest', link_id: link.id, rate: { amount: 200, currency: 'USD' }, max_duration_sec: 900, end_reason: null });
    expect(signaling).toMatchObject({ url: t.config.signal.publicUrl, expires_in: 300 });
    const claims = await createTokenVerifier({ jwks: () => t.keyRing.jwks() }, t.config.auth.issuer).verifySignaling(signaling.token);
    expect(claims).toMatchObject({ sub: guest.id, role: 'guest', call_id: c.id, peer: 'guest', aud: 'signal' });
    expect(claims.exp - claims.iat).toBe(300);
    expect(ice_servers[0]).toEqual({ urls: ['stun:stun.example.test:3478'] });
    const turn = ice_servers[1];
    expect(turn.username).toBe(`${claims.exp}:${guest.id}`);
    expect(turn.credential).toBe(createHmac('sha1', TURN_SECRET).update(turn.username).digest('base64'));
  });

  it('lets a registered user join too', async () => {
    const host = await makeHost(t);
    const link = await newLink(t, host);
    const user = await makeUser(t, 'user');
    const res = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: user.token, body: PAY });
    expect(res.status).toBe(201);
    expect(res.body.data.call).toMatchObject({ guest_id: user.user.id, guest_role: 'user' });
  });

  it('refuses unknown, deleted, own links and unavailable or busy hosts with documented codes', async () => {
    const guest = await makeGuest(t);
    expect((await call(t, 'POST', '/v1/calls/join/nosuchcode', { token: guest.token, body: PAY })).status).toBe(404);
    expect((await call(t, 'POST', '/v1/calls/join/nosuchcode')).status).toBe(401);
    const host = await makeHost(t);
    const link = await newLink(t, host);
    const own = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: host.token, body: PAY });
    expect(own.status).toBe(409);
    expect(own.body.error.details).toEqual({ reason: 'own_link' });
    await call(t, 'PUT', '/v1/users/me/toggle-available', { token: host.token, body: { available: false } });
    const off = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: guest.token, body: PAY });
    expect(off.status).toBe(409);
    expect(off.body.error).toMatchObject({ code: 'conflict', details: { reason: 'host_unavailable' } });
    await call(t, 'PUT', '/v1/users/me/toggle-available', { token: host.token, body: { available: true } });
    const first = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: guest.token, body: PAY });
    await new MongoCallStore(t.db).transition(first.body.data.call.id, 'active');
    const busy = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: (await makeGuest(t)).token, body: PAY });
    expect(busy.body.error.details).toEqual({ reason: 'host_busy' });
    await call(t, 'DELETE', `/v1/calls/links/${link.id}`, { token: host.token });
    const deleted = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: guest.token, body: PAY });
    expect(deleted.status).toBe(410);
    expect(deleted.body.error).toMatchObject({ code: 'gone', details: { reason: 'deleted' } });
  });

  it('makes exactly one call out of 20 concurrent joins of a single-use link', async () => {
    const host = await makeHost(t);
    const link = await newLink(t, host, { single_use: true });
    const guests = await Promise.all(Array.from({ length: 20 }, () => makeGuest(t)));
    const replies = await Promise.all(guests.map((g) => call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: g.token, body: PAY })));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    const refused = replies.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(19);
    for (const r of refused) expect(r.body.error).toMatchObject({ code: 'gone', details: { reason: 'used' } });
    expect(await t.db.collection('calls').countDocuments({ link_id: link.id })).toBe(1);
    const listed = await call(t, 'GET', '/v1/calls/links', { token: host.token });
    expect(listed.body.data[0]).toMatchObject({ id: link.id, uses: 1, status: 'used' });
    expect((await call(t, 'GET', `/v1/calls/links/${link.short_code}/info`)).body.error.details).toEqual({ reason: 'used' });
  });

  it('gives the link\'s host a host token; other hosts get 404, guests 403', async () => {
    const host = await makeHost(t);
    const other = await makeHost(t);
    const guest = await makeGuest(t);
    const joined = (await call(t, 'POST', `/v1/calls/join/${(await newLink(t, host)).short_code}`, { token: guest.token, body: PAY })).body.data.call;
    const res = await call(t, 'POST', `/v1/calls/${joined.id}/host-join`, { token: host.token });
    expect(res.status).toBe(200);
    const claims = await createTokenVerifier({ jwks: () => t.keyRing.jwks() }, t.config.auth.issuer).verifySignaling(res.body.data.signaling.token);
    expect(claims).toMatchObject({ sub: host.user.id, role: 'host', call_id: joined.id, peer: 'host' });
    expect(res.body.data.ice_servers[1].username).toBe(`${claims.exp}:${host.user.id}`);
    expect((await call(t, 'POST', `/v1/calls/${joined.id}/host-join`, { token: other.token })).status).toBe(404);
    expect((await call(t, 'POST', `/v1/calls/${joined.id}/host-join`, { token: guest.token })).status).toBe(403);
    expect((await call(t, 'POST', '/v1/calls/01ARZ3NDEKTSV4RRFFQ69G5FAV/host-join', { token: host.token })).status).toBe(404);
  });

  it('re-issues signaling tokens to participants of a running call only', async () => {
    const host = await makeHost(t);
    const guest = await makeGuest(t);
    const joined = (await call(t, 'POST', `/v1/calls/join/${(await newLink(t, host)).short_code}`, { token: guest.token, body: PAY })).body.data.call;
    const verifier = createTokenVerifier({ jwks: () => t.keyRing.jwks() }, t.config.auth.issuer);
    const forGuest = await call(t, 'POST', `/v1/calls/${joined.id}/token`, { token: guest.token });
    expect(forGuest.status).toBe(200);
    expect(await verifier.verifySignaling(forGuest.body.data.signaling.token)).toMatchObject({ peer: 'guest', sub: guest.id });
    const forHost = await call(t, 'POST', `/v1/calls/${joined.id}/token`, { token: host.token });
    expect(await verifier.verifySignaling(forHost.body.data.signaling.token)).toMatchObject({ peer: 'host', sub: host.user.id });
    expect((await call(t, 'POST', `/v1/calls/${joined.id}/token`, { token: (await makeGuest(t)).token })).status).toBe(404);
    await call(t, 'POST', `/v1/calls/${joined.id}/end`, { token: guest.token });
    const over = await call(t, 'POST', `/v1/calls/${joined.id}/token`, { token: guest.token });
    expect(over.status).toBe(409);
    expect(over.body.error.details).toMatchObject({ reason: 'call_over', status: 'ended' });
    expect((await call(t, 'POST', `/v1/calls/${joined.id}/host-join`, { token: host.token })).status).toBe(409);
  });

  it('ends a call with hangup, idempotently, for participants only', async () => {
    const host = await makeHost(t);
    const guest = await makeGuest(t);
    const joined = (await call(t, 'POST', `/v1/calls/join/${(await newLink(t, host)).short_code}`, { token: guest.token, body: PAY })).body.data.call;
    expect((await call(t, 'POST', `/v1/calls/${joined.id}/end`, { token: (await makeGuest(t)).token })).status).toBe(404);
    const ended = await call(t, 'POST', `/v1/calls/${joined.id}/end`, { token: host.token });
    expect(ended.status).toBe(200);
    expect(ended.body.data).toMatchObject({ id: joined.id, status: 'ended', end_reason: 'hangup' });
    expect(ended.body.data.ended_at).toBeTruthy();
    const again = await call(t, 'POST', `/v1/calls/${joined.id}/end`, { token: guest.token });
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual(ended.body.data);
    const parallel = await Promise.all(Array.from({ length: 10 }, () => call(t, 'POST', `/v1/calls/${joined.id}/end`, { token: guest.token })));
    for (const r of parallel) expect(r.body.data.ended_at).toBe(ended.body.data.ended_at);
    // The stored call says who ended it (the later ends by the guest changed nothing).
    expect(await new MongoCallStore(t.db).get(joined.id)).toMatchObject({ status: 'ended', ended_by: 'host' });
  });

  it('shows a call to its participants and admins only', async () => {
    const host = await makeHost(t);
    const guest = await makeGuest(t);
    const joined = (await call(t, 'POST', `/v1/calls/join/${(await newLink(t, host)).short_code}`, { token: guest.token, body: PAY })).body.data.call;
    expect((await call(t, 'GET', `/v1/calls/${joined.id}`, { token: guest.token })).body.data).toMatchObject({ id: joined.id, status: 'waiting' });
    expect((await call(t, 'GET', `/v1/calls/${joined.id}`, { token: host.token })).status).toBe(200);
    expect((await call(t, 'GET', `/v1/calls/${joined.id}`, { token: (await makeUser(t, 'admin')).token })).status).toBe(200);
    expect((await call(t, 'GET', `/v1/calls/${joined.id}`, { token: (await makeHost(t)).token })).status).toBe(404);
    expect((await call(t, 'GET', `/v1/calls/${joined.id}`, { token: (await makeGuest(t)).token })).status).toBe(404);
    expect((await call(t, 'GET', `/v1/calls/${joined.id}`)).status).toBe(401);
  });

  it('lists history newest first with pagination and status/date filters', async () => {
    const host = await makeHost(t);
    const link = await newLink(t, host);
    const guests = [await makeGuest(t), await makeGuest(t), await makeGuest(t)];
    const ids: string[] = [];
    for (const g of guests) {
      const r = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: g.token, body: PAY });
      ids.push(r.body.data.call.id);
    }
    await call(t, 'POST', `/v1/calls/${ids[0]}/end`, { token: host.token });
    const all = await call(t, 'GET', '/v1/calls/history?per_page=2', { token: host.token });
    expect(all.status).toBe(200);
    expect(all.body.pagination).toEqual({ page: 1, per_page: 2, total: 3, total_pages: 2 });
    expect(all.body.data.map((c: { id: string }) => c.id)).toEqual([ids[2], ids[1]]);
    const ended = await call(t, 'GET', '/v1/calls/history?status=ended', { token: host.token });
    expect(ended.body.data.map((c: { id: string }) => c.id)).toEqual([ids[0]]);
    const mine = await call(t, 'GET', '/v1/calls/history', { token: guests[1]!.token });
    expect(mine.body.data.map((c: { id: string }) => c.id)).toEqual([ids[1]]);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await call(t, 'GET', `/v1/calls/history?from=${encodeURIComponent(future)}`, { token: host.token })).body.pagination.total).toBe(0);
    expect((await call(t, 'GET', `/v1/calls/history?to=${encodeURIComponent(future)}`, { token: host.token })).body.pagination.total).toBe(3);
    expect((await call(t, 'GET', `/v1/calls/history?from=${encodeURIComponent(future)}&to=2000-01-01T00:00:00Z`, { token: host.token })).status).toBe(400);
    expect((await call(t, 'GET', '/v1/calls/history?status=bogus', { token: host.token })).status).toBe(400);
  });
});

describe('calls: presence decides ringing vs waiting', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi({ withRedis: true, env: stripeEnv() }); });
  afterAll(async () => { await t.stop(); });

  it('starts the call ringing when the host has a presence key, waiting otherwise', async () => {
    const host = await makeHost(t);
    const link = await newLink(t, host);
    const offline = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: (await makeGuest(t)).token, body: PAY });
    expect(offline.body.data.call).toMatchObject({ status: 'waiting', ringing_at: null });
    await call(t, 'POST', `/v1/calls/${offline.body.data.call.id}/end`, { token: host.token });
    await t.redis!.set(`${t.config.redis.prefix}:presence:user:${host.user.id}`, '1', 'EX', 60);
    const online = await call(t, 'POST', `/v1/calls/join/${link.short_code}`, { token: (await makeGuest(t)).token, body: PAY });
    expect(online.body.data.call.status).toBe('ringing');
    expect(online.body.data.call.ringing_at).toBeTruthy();
  });
});

describe('calls: ring timeout', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi({ env: { ...stripeEnv(), CALL_RING_TIMEOUT_SEC: '1', CALL_SWEEP_INTERVAL_MS: '100' } }); });
  afterAll(async () => { await t.stop(); });

  it('marks a call nobody answered as missed with reason timeout', async () => {
    const host = await makeHost(t);
    const guest = await makeGuest(t);
    const joined = (await call(t, 'POST', `/v1/calls/join/${(await newLink(t, host)).short_code}`, { token: guest.token, body: PAY })).body.data.call;
    const missed = await until(async () => {
      const r = await call(t, 'GET', `/v1/calls/${joined.id}`, { token: guest.token });
      return r.body.data.status === 'missed' ? r.body.data : undefined;
    });
    expect(missed).toMatchObject({ status: 'missed', end_reason: 'timeout' });
    expect(await new MongoCallStore(t.db).get(joined.id)).toMatchObject({ ended_by: 'system' });
    const answered = (await call(t, 'POST', `/v1/calls/join/${(await newLink(t, host)).short_code}`, { token: (await makeGuest(t)).token, body: PAY })).body.data.call;
    await new MongoCallStore(t.db).transition(answered.id, 'active');
    await until(async () => ((await t.db.collection('calls').countDocuments({ status: { $in: ['waiting', 'ringing'] } })) === 0 ? true : undefined));
    expect((await call(t, 'GET', `/v1/calls/${answered.id}`, { token: host.token })).body.data.status).toBe('active');
  });
});
