import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerRepository } from '../../../api/repositories/ledger.js';
import { Accounts } from '../../../api/services/payments/accounts.js';
import { LedgerService } from '../../../api/services/payments/ledger.js';
import { MongoMinuteStore } from '../../../shared/billing/index.js';
import type { SignalNode } from '../../../signal/main.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { expectLedgerBalanced } from '../../helpers/ledger.js';
import { until } from '../../helpers/poll.js';
import { startLocalNode } from '../../helpers/signal-cluster.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { SignalClient } from '../../helpers/ws-client.js';
import { call, makeGuest, makeHost } from '../users/fixtures.js';

const RATE = 300;
const FEE_BPS = 1000;
const MINUTES = 3;
const TICK_MS = 400;
const GRACE_MS = 3000;

/**
 * The whole path with real parts: a guest pays over HTTP, both peers join a real signal node
 * over WebSocket and report media as real clients do, the node's ticks (short SIGNAL_TICK_MS,
 * counted from media-up) reach the minute store, the API's worker bills them, and the hangup
 * captures exactly the billed minutes on stripe-mock; the call record says when media came up
 * and who ended the call.
 */
describe('billing with a real signal node', () => {
  let mock: StripeMock;
  let t: TestApi;
  let node: SignalNode;
  let url: string;
  const clients: SignalClient[] = [];

  beforeAll(async () => {
    mock = await startStripeMock();
    t = await startTestApi({
      env: {
        STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: mock.url, PLATFORM_FEE_BPS: String(FEE_BPS), BILLING_HOLD_MINUTES: '2',
        BILLING_EXTEND_AT_MINUTES: '1', BILLING_POLL_MS: '50', BILLING_SETTLE_DELAY_MS: '300', EARNINGS_HOLD_DAYS: '0',
      },
    });
    ({ node, url } = await startLocalNode({
      db: t.db, ring: t.keyRing, minutes: new MongoMinuteStore(t.db),
      env: { SIGNAL_TICK_MS: String(TICK_MS), SIGNAL_SWEEP_MS: '100', SIGNAL_MEDIA_REPORT_GRACE_MS: String(GRACE_MS) },
    }));
  }, 60000);
  afterAll(async () => {
    for (const c of clients) c.kill();
    await node?.close();
    await t?.stop();
    await mock?.stop();
  });

  /** A paid call with both peers joined over WebSocket and active. */
  async function activePaidCall(host: Awaited<ReturnType<typeof makeHost>>) {
    const link = await call(t, 'POST', '/v1/calls/links', { token: host.token, body: {} });
    const guest = await makeGuest(t);
    const joined = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(joined.status).toBe(201);
    const callId = joined.body.data.call.id as string;
    const hostGrant = await call(t, 'POST', `/v1/calls/${callId}/host-join`, { token: host.token });
    const g = await SignalClient.connect(url, joined.body.data.signaling.token);
    const h = await SignalClient.connect(url, hostGrant.body.data.signaling.token);
    clients.push(g, h);
    await Promise.all([g.join(), h.join()]);
    await Promise.all([g, h].map((c) => c.waitType('call-state', 10000, (f) => f.data.status === 'active')));
    return { callId, guest, g, h };
  }

  const billedCount = (callId: string) => t.db.collection('billed_minutes').countDocuments({ call_id: callId, status: 'billed' });
  const stored = async (callId: string) => (await t.db.collection('calls').findOne({ _id: callId as any }))!;
  const settled = (callId: string) => until(async () => {
    const p = await t.db.collection('payments').findOne({ call_id: callId });
    return p?.state === 'settled' && p.released_at ? p : null; // EARNINGS_HOLD_DAYS=0: released at the next pass
  }, 20000, 'payment settled');
  /** The `at` of each recorded minute tick, by minute. */
  const tickTimes = async (callId: string) => new Map((await t.db.collection('minute_ticks').find({ call_id: callId }).toArray()).map((m) => [m.minute as number, (m.at as Date).getTime()]));

  it(`bills the ticks of a live call and captures exactly them at hangup (≥ ${MINUTES} minutes)`, async () => {
    const host = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const { callId, guest, g, h } = await activePaidCall(host);
    await Promise.all([g, h].map((c) => c.request('media-state', { state: 'connected' })));
    await until(async () => (await billedCount(callId)) >= MINUTES, 20000, `${MINUTES} minutes billed`);
    expect((await call(t, 'POST', `/v1/calls/${callId}/end`, { token: host.token })).status).toBe(200);
    const payment = await settled(callId);
    const billed = await billedCount(callId);
    const ticks = await t.db.collection('minute_ticks').countDocuments({ call_id: callId });
    expect(billed).toBeGreaterThanOrEqual(MINUTES);
    expect(billed).toBeLessThanOrEqual(ticks);
    const fee = Math.floor((RATE * FEE_BPS) / 10000);
    expect(payment).toMatchObject({ billed_minutes: billed, captured_minor: billed * RATE, net_minor: billed * (RATE - fee), written_off_minor: 0 });
    const ledger = new LedgerService(new LedgerRepository(t.db));
    expect(await ledger.balance(Accounts.hostAvailable(host.user.id), 'USD')).toBe(-billed * (RATE - fee));
    expect(await ledger.balance(Accounts.platformFees, 'USD')).toBeLessThanOrEqual(-billed * fee);
    await expectLedgerBalanced(ledger);

    // Minutes count from media-up; the record says when it came up, whose report it was and who ended the call.
    const doc = await stored(callId);
    const mediaUpAt = (doc.media_up_at as Date).getTime();
    expect(['host', 'guest']).toContain(doc.media_up_by);
    for (const [minute, at] of await tickTimes(callId)) expect(at).toBe(mediaUpAt + minute * TICK_MS);
    const record = await call(t, 'GET', `/v1/calls/${callId}/record`, { token: guest.token });
    expect(record.status).toBe(200);
    expect(record.body.data.record).toMatchObject({
      billed_minutes: billed, ended_by: 'host', end_reason: 'hangup', media_up_by: doc.media_up_by,
      times: { media_up_at: new Date(mediaUpAt).toISOString(), active_at: (doc.answered_at as Date).toISOString() },
    });
  }, 60000);

  it('bills fewer minutes when media comes up later: none before the report, and the record shows it', async () => {
    const host = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const { callId, guest, g } = await activePaidCall(host);
    const answeredAt = ((await stored(callId)).answered_at as Date).getTime();
    // Three periods pass with the sockets joined and no media: nothing is counted.
    await new Promise((r) => setTimeout(r, Math.max(0, answeredAt + 3 * TICK_MS + 100 - Date.now())));
    expect(await t.db.collection('minute_ticks').countDocuments({ call_id: callId })).toBe(0);
    expect((await g.request('media-state', { state: 'connected' })).type).toBe('ack');
    const mediaUpAt = await until(async () => ((await stored(callId)).media_up_at as Date | null)?.getTime() ?? null, 10000, 'media up stored');
    expect(mediaUpAt - answeredAt).toBeGreaterThanOrEqual(3 * TICK_MS);
    await until(async () => (await billedCount(callId)) >= 2, 20000, 'two minutes billed');
    expect((await g.request('hangup')).type).toBe('ack');
    const payment = await settled(callId);
    const doc = await stored(callId);
    const endedAt = (doc.ended_at as Date).getTime();
    const billed = await billedCount(callId);
    expect(billed).toBeGreaterThanOrEqual(2);
    expect(billed).toBeLessThanOrEqual(Math.floor((endedAt - mediaUpAt) / TICK_MS));
    // Counting from `active` would have given at least three more.
    expect(billed).toBeLessThanOrEqual(Math.floor((endedAt - answeredAt) / TICK_MS) - 3);
    expect(payment).toMatchObject({ billed_minutes: billed, captured_minor: billed * RATE });
    for (const [minute, at] of await tickTimes(callId)) expect(at).toBe(mediaUpAt + minute * TICK_MS);
    expect(doc).toMatchObject({ media_up_by: 'guest', ended_by: 'guest', end_reason: 'hangup' });
    const record = await call(t, 'GET', `/v1/calls/${callId}/record`, { token: host.token });
    expect(record.body.data.record).toMatchObject({
      billed_minutes: billed, media_up_by: 'guest', ended_by: 'guest', times: { media_up_at: new Date(mediaUpAt).toISOString() },
    });
    await expectLedgerBalanced(new LedgerService(new LedgerRepository(t.db)));
  }, 60000);

  it('bills clients that never report from active, once the grace is over', async () => {
    const host = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const { callId } = await activePaidCall(host);
    await until(async () => (await billedCount(callId)) >= 1, 20000, 'a minute billed');
    const doc = await stored(callId);
    const answeredAt = (doc.answered_at as Date).getTime();
    expect(doc).toMatchObject({ media_up_by: 'system' });
    expect((doc.media_up_at as Date).getTime()).toBe(answeredAt);
    // Nothing before the grace ended; then the minutes since active at once.
    const recorded = await t.db.collection('minute_ticks').find({ call_id: callId }).sort({ minute: 1 }).toArray();
    expect(recorded[0]).toMatchObject({ minute: 1, at: new Date(answeredAt + TICK_MS) });
    expect((recorded[0]!.recorded_at as Date).getTime()).toBeGreaterThanOrEqual(answeredAt + GRACE_MS);
    expect((await call(t, 'POST', `/v1/calls/${callId}/end`, { token: host.token })).status).toBe(200);
    await settled(callId);
    expect(await stored(callId)).toMatchObject({ ended_by: 'host' });
  }, 60000);
});
