import { compactVerify, createRemoteJWKSet, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoMinuteStore, type MinuteRecord } from '../../../shared/billing/index.js';
import { MongoCallStore, type Call } from '../../../shared/calls/index.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { until } from '../../helpers/poll.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { call, makeGuest, makeHost, makeUser, type Actor } from '../users/fixtures.js';

const RATE = 250;
const FEE_BPS = 1500;
const FEE = Math.floor((RATE * FEE_BPS) / 10000);

/** Signed call records and the usage CSV over real HTTP, FerretDB and stripe-mock. */
describe('call records and usage export', () => {
  let mock: StripeMock;
  let t: TestApi;
  let minutes: MongoMinuteStore;
  let store: MongoCallStore;
  let host: Actor;
  let guest: { id: string; token: string };
  let ended: Call;
  let running: Call;
  const start = new Date(Date.now() - 60_000);
  const mediaUpAt = new Date(Date.now() - 1000);

  async function paidCall(h: Actor): Promise<{ guest: { id: string; token: string }; call: Call }> {
    const link = await call(t, 'POST', '/v1/calls/links', { token: h.token, body: {} });
    const g = await makeGuest(t);
    const res = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: g.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(res.status).toBe(201);
    return { guest: g, call: res.body.data.call };
  }
  const minute = (c: Call, n: number, extra: Partial<MinuteRecord> = {}): MinuteRecord => ({
    callId: c.id, minute: n, at: new Date(Date.now() - 1000), hostId: c.host_id, guestId: c.guest_id, reconnecting: [], late: false, node: 'n1', ...extra,
  });

  beforeAll(async () => {
    mock = await startStripeMock();
    t = await startTestApi({
      env: {
        STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: mock.url, STRIPE_MAX_NETWORK_RETRIES: '0', STRIPE_TIMEOUT_MS: '3000',
        PLATFORM_FEE_BPS: String(FEE_BPS), BILLING_HOLD_MINUTES: '4', BILLING_POLL_MS: '50', BILLING_SETTLE_DELAY_MS: '0', EARNINGS_HOLD_DAYS: '0',
      },
    });
    minutes = new MongoMinuteStore(t.db);
    store = new MongoCallStore(t.db);
    host = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const first = await paidCall(host);
    guest = first.guest;
    ended = first.call;
    await store.transition(ended.id, 'active');
    await store.markMediaUp(ended.id, { at: mediaUpAt, by: 'host' });
    await minutes.record(minute(ended, 1));
    await minutes.record(minute(ended, 2));
    await minutes.record(minute(ended, 3, { reconnecting: ['guest'] }));
    await until(async () => (await minutes.pendingOf(ended.id)) === 0, 20000, 'minutes applied');
    expect((await call(t, 'POST', `/v1/calls/${ended.id}/end`, { token: guest.token })).status).toBe(200);
    await until(async () => (await t.db.collection('payments').findOne({ call_id: ended.id }))?.state === 'settled', 20000, 'settled');
    running = (await paidCall(host)).call;
  }, 90000);
  afterAll(async () => {
    await t?.stop();
    await mock?.stop();
  });

  it('serves a record signed with the server key that verifies against /.well-known/jwks.json', async () => {
    const res = await call(t, 'GET', `/v1/calls/${ended.id}/record`, { token: guest.token });
    expect(res.status).toBe(200);
    const { record, jws } = res.body.data as { record: Record<string, any>; jws: string };
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const verified = await compactVerify(jws, jwks, { algorithms: ['RS256'] });
    const payload = JSON.parse(new TextDecoder().decode(verified.payload));
    expect(payload).toEqual(record);
    const kids = ((await call(t, 'GET', '/.well-known/jwks.json')).body.keys as Array<{ kid: string }>).map((k) => k.kid);
    expect(kids).toContain(decodeProtectedHeader(jws).kid);
    expect(record).toMatchObject({
      type: 'vidivo.call_record', call_id: ended.id, host_id: host.user.id, guest_id: guest.id, status: 'ended', end_reason: 'hangup', ended_by: 'guest', media_up_by: 'host',
      billed_minutes: 2, rate: { amount_minor: RATE, currency: 'USD' },
      amounts: { currency: 'USD', billed_minor: 2 * RATE, captured_minor: 2 * RATE, written_off_minor: 0, fee_minor: 2 * FEE, host_earning_minor: 2 * (RATE - FEE) },
    });
    expect(record.times.active_at).toEqual(expect.any(String));
    expect(record.times.ended_at).toEqual(expect.any(String));
    expect(record.times.media_up_at).toBe(mediaUpAt.toISOString());
    expect(record.times.reconnecting).toEqual([{ minute: 3, at: expect.any(String) }]);

    // A tampered payload does not verify.
    const [h, , s] = jws.split('.');
    const forged = Buffer.from(JSON.stringify({ ...record, billed_minutes: 1 })).toString('base64url');
    await expect(compactVerify(`${h}.${forged}.${s}`, jwks, { algorithms: ['RS256'] })).rejects.toThrow();
  });

  it('is final: the host, an admin and later reads get the same bytes', async () => {
    const first = await call(t, 'GET', `/v1/calls/${ended.id}/record`, { token: guest.token });
    await t.db.collection('payments').updateOne({ call_id: ended.id }, { $set: { captured_minor: 1 } }); // later changes do not alter it
    const byHost = await call(t, 'GET', `/v1/calls/${ended.id}/record`, { token: host.token });
    const admin = await makeUser(t, 'admin');
    const byAdmin = await call(t, 'GET', `/v1/calls/${ended.id}/record`, { token: admin.token });
    expect(byHost.status).toBe(200);
    expect(byAdmin.status).toBe(200);
    expect(byHost.body.data.jws).toBe(first.body.data.jws);
    expect(byAdmin.body.data.jws).toBe(first.body.data.jws);
    await t.db.collection('payments').updateOne({ call_id: ended.id }, { $set: { captured_minor: 2 * RATE } });
  });

  it('gives a free call a record with zero amounts', async () => {
    const freeHost = await makeHost(t, { rate: { amount: 0, currency: 'USD' } });
    const link = await call(t, 'POST', '/v1/calls/links', { token: freeHost.token, body: {} });
    const g = await makeGuest(t);
    const join = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: g.token, body: {} });
    expect(join.status).toBe(201);
    const c = join.body.data.call as Call;
    expect((await call(t, 'POST', `/v1/calls/${c.id}/end`, { token: freeHost.token })).status).toBe(200);
    const res = await call(t, 'GET', `/v1/calls/${c.id}/record`, { token: g.token });
    expect(res.status).toBe(200);
    expect(res.body.data.record).toMatchObject({
      call_id: c.id, billed_minutes: 0, times: { active_at: null, reconnecting: [] },
      amounts: { billed_minor: 0, captured_minor: 0, fee_minor: 0, host_earning_minor: 0 },
    });
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    expect(JSON.parse(new TextDecoder().decode((await compactVerify(res.body.data.jws, jwks)).payload))).toEqual(res.body.data.record);
  });

  it('hides the record from others (404), refuses anonymous (401) and a running call (409)', async () => {
    const stranger = await makeHost(t);
    expect((await call(t, 'GET', `/v1/calls/${ended.id}/record`, { token: stranger.token })).body.error.code).toBe('not_found');
    expect((await call(t, 'GET', `/v1/calls/${ended.id}/record`, { token: stranger.token })).status).toBe(404);
    expect((await call(t, 'GET', `/v1/calls/${ended.id}/record`)).status).toBe(401);
    expect((await call(t, 'GET', '/v1/calls/01ARZ3NDEKTSV4RRFFQ69G5FAV/record', { token: host.token })).status).toBe(404);
    const open = await call(t, 'GET', `/v1/calls/${running.id}/record`, { token: host.token });
    expect(open.status).toBe(409);
    expect(open.body.error.code).toBe('conflict');
    expect(await t.db.collection('call_records').countDocuments({ _id: running.id as never })).toBe(0);
  });

  it('exports the host\'s calls as CSV with billed minutes and amounts', async () => {
    const range = `from=${encodeURIComponent(start.toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
    const res = await call(t, 'GET', `/v1/payments/usage/export?${range}`, { token: host.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (res.body as string).split('\r\n').filter(Boolean).map((l) => l.split(','));
    const header = lines[0]!;
    const rows = lines.slice(1).map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]])));
    expect(rows.map((r) => r.call_id).sort()).toEqual([ended.id, running.id].sort());
    const row = rows.find((r) => r.call_id === ended.id)!;
    expect(row).toMatchObject({
      status: 'ended', end_reason: 'hangup', host_id: host.user.id, guest_id: guest.id, billed_minutes: '2', reconnecting_minutes: '1', currency: 'USD',
      rate_minor: String(RATE), billed_minor: String(2 * RATE), fee_minor: String(2 * FEE), host_earning_minor: String(2 * (RATE - FEE)),
      captured_minor: String(2 * RATE), payment_state: 'settled',
    });
    expect(Number(row.participant_seconds)).toBe(2 * Number(row.active_seconds));
    expect(rows.find((r) => r.call_id === running.id)).toMatchObject({ billed_minutes: '0', ended_at: '', payment_state: expect.any(String) });

    // Another host sees none of them; an admin sees them by host_id; a host may not name another host.
    const other = await makeHost(t);
    expect(((await call(t, 'GET', `/v1/payments/usage/export?${range}`, { token: other.token })).body as string).split('\r\n').filter(Boolean)).toHaveLength(1);
    const admin = await makeUser(t, 'admin');
    const byAdmin = await call(t, 'GET', `/v1/payments/usage/export?${range}&host_id=${host.user.id}`, { token: admin.token });
    expect((byAdmin.body as string).split('\r\n').filter(Boolean)).toHaveLength(3);
    expect((await call(t, 'GET', `/v1/payments/usage/export?${range}&host_id=${host.user.id}`, { token: other.token })).status).toBe(403);
  });

  it('validates the range and role', async () => {
    const now = new Date().toISOString();
    expect((await call(t, 'GET', `/v1/payments/usage/export?from=${now}&to=${now}`, { token: host.token })).status).toBe(400);
    expect((await call(t, 'GET', `/v1/payments/usage/export?from=${now}`, { token: host.token })).status).toBe(400);
    expect((await call(t, 'GET', '/v1/payments/usage/export?from=2020-01-01T00:00:00Z&to=2022-01-01T00:00:00Z', { token: host.token })).status).toBe(400);
    expect((await call(t, 'GET', `/v1/payments/usage/export?from=2020-01-01T00:00:00Z&to=${now}`, { token: guest.token })).status).toBe(403);
  });
});
