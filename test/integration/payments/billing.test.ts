import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../../api/main.js';
import { Accounts } from '../../../api/services/payments/accounts.js';
import { LedgerRepository } from '../../../api/repositories/ledger.js';
import { LedgerService } from '../../../api/services/payments/ledger.js';
import { MongoFundingStore, MongoMinuteStore, type MinuteRecord } from '../../../shared/billing/index.js';
import { MongoCallStore, type Call } from '../../../shared/calls/index.js';
import { createLogger } from '../../../shared/runtime/logger.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { expectLedgerBalanced } from '../../helpers/ledger.js';
import { until } from '../../helpers/poll.js';
import { startStripeFaultProxy, type StripeFaultProxy } from '../../helpers/stripe-fault-proxy.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { call, makeGuest, makeHost, type Actor } from '../users/fixtures.js';

const RATE = 250;
const FEE_BPS = 1500;
const FEE = Math.floor((RATE * FEE_BPS) / 10000);
const HOLD_MINUTES = 4;

/**
 * The money path over real HTTP, real FerretDB and the real stripe-mock (behind the fault
 * proxy): join with a card → hold; minutes recorded in the minute store as the signal tier
 * writes them; hangup → exactly the billed minutes captured, the ledger balanced.
 */
describe('billing end to end', () => {
  let mock: StripeMock;
  let proxy: StripeFaultProxy;
  let t: TestApi;
  let ledger: LedgerService;
  let minutes: MongoMinuteStore;
  let store: MongoCallStore;
  const env = (): Record<string, string> => ({
    STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: proxy.url, STRIPE_MAX_NETWORK_RETRIES: '0', STRIPE_TIMEOUT_MS: '3000',
    PLATFORM_FEE_BPS: String(FEE_BPS), BILLING_HOLD_MINUTES: String(HOLD_MINUTES), BILLING_EXTEND_AT_MINUTES: '1',
    BILLING_POLL_MS: '50', BILLING_SETTLE_DELAY_MS: '0', EARNINGS_HOLD_DAYS: '0',
  });

  beforeAll(async () => {
    mock = await startStripeMock();
    proxy = await startStripeFaultProxy(mock.url);
    t = await startTestApi({ env: env() });
    ledger = new LedgerService(new LedgerRepository(t.db));
    minutes = new MongoMinuteStore(t.db);
    store = new MongoCallStore(t.db);
  }, 60000);
  afterAll(async () => {
    await t?.stop();
    await proxy?.close();
    await mock?.stop();
  });

  async function paidCall(host?: Actor): Promise<{ host: Actor; guest: { id: string; token: string }; call: Call; paidMinutes: number }> {
    const h = host ?? await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const link = await call(t, 'POST', '/v1/calls/links', { token: h.token, body: {} });
    const guest = await makeGuest(t);
    const res = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(res.status).toBe(201);
    return { host: h, guest, call: res.body.data.call, paidMinutes: res.body.data.paid_minutes };
  }

  function minute(c: Call, n: number, extra: Partial<MinuteRecord> = {}): MinuteRecord {
    return { callId: c.id, minute: n, at: new Date(Date.now() - 1000), hostId: c.host_id, guestId: c.guest_id, reconnecting: [], late: false, node: 'n1', ...extra };
  }

  async function settled(callId: string) {
    return until(async () => {
      const p = await t.db.collection('payments').findOne({ call_id: callId });
      return p?.state === 'settled' && p.released_at ? p : null; // EARNINGS_HOLD_DAYS=0: released at the next pass
    }, 20000, `payment of ${callId} settled`);
  }

  async function allApplied(callId: string): Promise<void> {
    await until(async () => (await minutes.pendingOf(callId)) === 0, 20000, 'minutes applied');
  }

  it('a guest pays: N minutes billed, hangup captures exactly N × rate, the host earns N × (rate − fee), the ledger balances', async () => {
    const { host, guest, call: c, paidMinutes } = await paidCall();
    expect(paidMinutes).toBe(HOLD_MINUTES);
    const holdRequest = proxy.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents').at(-1)!;
    expect(holdRequest.idempotencyKey).toMatch(/^vidivo_authorize_/);
    await store.transition(c.id, 'active');
    const N = 6; // more than the hold: extended ahead of use
    for (let n = 1; n <= N; n++) await minutes.record(minute(c, n));
    await minutes.record(minute(c, 3)); // delivered twice
    await allApplied(c.id);
    expect((await call(t, 'POST', `/v1/calls/${c.id}/end`, { token: guest.token })).status).toBe(200);
    const payment = await settled(c.id);
    expect(payment).toMatchObject({ billed_minutes: N, billed_minor: N * RATE, captured_minor: N * RATE, written_off_minor: 0, net_minor: N * (RATE - FEE) });
    const captures = proxy.requests.filter((r) => r.path.endsWith('/capture'));
    expect(captures.length).toBeGreaterThanOrEqual(1);
    expect(proxy.requests.some((r) => r.path.endsWith('/increment_authorization'))).toBe(true);
    expect(await ledger.balance(Accounts.hostAvailable(host.user.id), 'USD')).toBe(-N * (RATE - FEE));
    expect(await ledger.balance(Accounts.guest(guest.id), 'USD')).toBe(0);
    await expectLedgerBalanced(ledger);

    // A minute applied late (after settlement) or again changes nothing.
    await minutes.record(minute(c, N + 1));
    await minutes.record(minute(c, 2));
    await allApplied(c.id);
    const late = await t.db.collection('billed_minutes').findOne({ _id: `${c.id}:${N + 1}` as never });
    expect(late?.status).toBe('late');
    expect(await ledger.balance(Accounts.hostAvailable(host.user.id), 'USD')).toBe(-N * (RATE - FEE));
    await expectLedgerBalanced(ledger);
  });

  it('does not bill a minute while a peer reconnects', async () => {
    const { call: c } = await paidCall();
    await store.transition(c.id, 'active');
    await minutes.record(minute(c, 1));
    await minutes.record(minute(c, 2, { reconnecting: ['guest'] }));
    await allApplied(c.id);
    await store.transition(c.id, 'ended');
    expect(await settled(c.id)).toMatchObject({ billed_minutes: 1, captured_minor: RATE });
    await expectLedgerBalanced(ledger);
  });

  it('releases the hold of a call that never started billing (missed): nothing captured', async () => {
    const { call: c } = await paidCall();
    const cancels = () => proxy.requests.filter((r) => r.path.endsWith('/cancel') && r.status === 200).length;
    const before = cancels();
    await store.transition(c.id, 'missed');
    expect(await settled(c.id)).toMatchObject({ billed_minutes: 0, captured_minor: 0 });
    expect(cancels()).toBe(before + 1);
    await expectLedgerBalanced(ledger);
  });

  it('refuses a declined card with 402 stripe_error and creates no call', async () => {
    const host = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const link = await call(t, 'POST', '/v1/calls/links', { token: host.token, body: {} });
    const guest = await makeGuest(t);
    const fault = proxy.inject({ method: 'POST', path: '/v1/payment_intents', fault: { kind: 'decline', declineCode: 'insufficient_funds' }, times: 1 });
    const res = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(fault.hits).toBe(1);
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ code: 'stripe_error', details: { decline_code: 'insufficient_funds' } });
    expect(await t.db.collection('calls').countDocuments({ guest_id: guest.id })).toBe(0);
    expect(await t.db.collection('payments').findOne({ guest_id: guest.id })).toMatchObject({ state: 'failed' });
  });

  it('asks a paid join for a payment method, and replays it under the same idempotency key', async () => {
    const host = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const link = await call(t, 'POST', '/v1/calls/links', { token: host.token, body: {} });
    const guest = await makeGuest(t);
    const none = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token });
    expect(none.body.error).toMatchObject({ code: 'validation_error', details: { payment_method_id: 'is required for a paid link' } });
    const key = randomUUID();
    const body = { payment_method_id: 'pm_card_visa' };
    const first = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token, body, headers: { 'X-Idempotency-Key': key } });
    const again = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token, body, headers: { 'X-Idempotency-Key': key } });
    expect(first.status).toBe(201);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(again.body.data.call.id).toBe(first.body.data.call.id);
    expect(await t.db.collection('payments').countDocuments({ guest_id: guest.id })).toBe(1);
  });

  it('holds a saved card (with its customer) when a paid join names none', async () => {
    const host = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const link = await call(t, 'POST', '/v1/calls/links', { token: host.token, body: {} });
    const guest = await makeGuest(t);
    const saved = await call(t, 'POST', '/v1/payments/methods', { token: guest.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(saved.status).toBe(201);
    const res = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token });
    expect(res.status).toBe(201);
    const payment = await t.db.collection('payments').findOne({ call_id: res.body.data.call.id });
    expect(payment).toMatchObject({ payment_method: saved.body.data.id, customer: expect.stringMatching(/^cus_/), state: 'held' });
    // stripe-mock keeps the test id (`pm_card_visa`) on attach: forget it, as the other guests use that id too.
    expect((await call(t, 'DELETE', `/v1/payments/methods/${saved.body.data.id}`, { token: guest.token })).status).toBeLessThan(300);
  });

  it('computes the paid minutes left when the hold cannot be extended', async () => {
    const { call: c } = await paidCall();
    await store.transition(c.id, 'active');
    const increment = proxy.inject({ path: /\/increment_authorization$/, fault: { kind: 'increment_refused' } });
    const further = proxy.inject({ method: 'POST', path: '/v1/payment_intents', when: (form) => form.get('metadata[call_id]') === c.id, fault: { kind: 'decline' } });
    try {
      for (let n = 1; n <= 3; n++) await minutes.record(minute(c, n));
      await allApplied(c.id);
      const funding = await until(async () => {
        const f = await new MongoFundingStore(t.db).get(c.id);
        return f?.exhausted ? f : null;
      }, 10000, 'funding exhausted');
      expect(funding.paidMinutesLeft).toBe(HOLD_MINUTES - 3);
      expect(increment.hits).toBeGreaterThanOrEqual(1);
      expect(further.hits).toBeGreaterThanOrEqual(1);
      // Minutes beyond the hold are not billed (the signal tier ends the call at zero).
      for (let n = 4; n <= 6; n++) await minutes.record(minute(c, n));
      await allApplied(c.id);
    } finally {
      increment.remove();
      further.remove();
    }
    await store.transition(c.id, 'ended', { reason: 'insufficient_funds' });
    expect(await settled(c.id)).toMatchObject({ billed_minutes: HOLD_MINUTES, captured_minor: HOLD_MINUTES * RATE });
    const unfunded = await t.db.collection('billed_minutes').countDocuments({ call_id: c.id, status: 'unfunded' });
    expect(unfunded).toBe(2);
    await expectLedgerBalanced(ledger);
  });

  it('reverses a refund and a dispute in the ledger, once each', async () => {
    const { host, call: c } = await paidCall();
    await store.transition(c.id, 'active');
    for (let n = 1; n <= 2; n++) await minutes.record(minute(c, n));
    await allApplied(c.id);
    await store.transition(c.id, 'ended');
    await settled(c.id);
    const hold = await t.db.collection('payment_holds').findOne({ payment_id: (await t.db.collection('payments').findOne({ call_id: c.id }))!._id });
    const api = (await import('../../../api/services/payments/billing.js'));
    const billing = await api.createBilling({ config: t.config, db: t.db, log: createLogger({ level: 'silent' }) });
    const refund = { paymentIntentId: hold!.pi as string, objectId: 're_test1', amountMinor: 100, currency: 'usd' };
    expect(await billing.reversals.refund(refund)).toMatchObject({ outcome: 'posted', applied: true });
    expect(await billing.reversals.refund(refund)).toMatchObject({ outcome: 'posted', applied: false });
    expect(await billing.reversals.dispute({ ...refund, objectId: 'dp_test1', amountMinor: 400 })).toMatchObject({ outcome: 'posted', applied: true });
    expect(await ledger.balance(Accounts.hostAvailable(host.user.id), 'USD')).toBe(0);
    expect(await billing.reversals.refund({ ...refund, paymentIntentId: 'pi_unknown' })).toEqual({ outcome: 'unknown_payment' });
    await expectLedgerBalanced(ledger);
  });
  // Last: it replaces the suite's API process.
  it('loses nothing when the API restarts mid-call, and retries a capture until Stripe answers', async () => {
    const { host, call: c } = await paidCall();
    await store.transition(c.id, 'active');
    await minutes.record(minute(c, 1));
    await allApplied(c.id);
    await t.api.close();
    // While no API runs: two more minutes are recorded and the call ends; Stripe then fails captures.
    await minutes.record(minute(c, 2));
    await minutes.record(minute(c, 3));
    await store.transition(c.id, 'ended');
    const outage = proxy.inject({ path: /\/capture$/, fault: { kind: 'status', status: 500 }, times: 2 });
    const again = await startApi({ config: t.config, log: createLogger({ level: 'silent' }), db: t.db, keyRing: t.keyRing });
    const payment = await settled(c.id).finally(() => again.close());
    expect(outage.hits).toBe(2);
    expect(payment).toMatchObject({ billed_minutes: 3, captured_minor: 3 * RATE });
    expect(payment.attempts).toBeGreaterThanOrEqual(1);
    expect(await ledger.balance(Accounts.hostAvailable(host.user.id), 'USD')).toBe(-3 * (RATE - FEE));
    await expectLedgerBalanced(ledger);
  });

});

describe('billing without Stripe configured', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi({ env: { RATE_MIN_MINOR: '0' } }); });
  afterAll(async () => { await t.stop(); });

  it('refuses a paid link with 503 and a clear message, and lets a free link (rate 0) through unbilled', async () => {
    const paidHost = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const paid = await call(t, 'POST', '/v1/calls/links', { token: paidHost.token, body: {} });
    const guest = await makeGuest(t);
    const refused = await call(t, 'POST', `/v1/calls/join/${paid.body.data.short_code}`, { token: guest.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'service_unavailable', details: { payments: 'not_configured' } });
    expect(refused.body.error.message).toMatch(/payments are not configured/i);
    const freeHost = await makeHost(t, { rate: { amount: 0, currency: 'USD' } });
    const free = await call(t, 'POST', '/v1/calls/links', { token: freeHost.token, body: {} });
    const joined = await call(t, 'POST', `/v1/calls/join/${free.body.data.short_code}`, { token: guest.token });
    expect(joined.status).toBe(201);
    expect(joined.body.data.paid_minutes).toBeNull();
    const c = joined.body.data.call as Call;
    await new MongoCallStore(t.db).transition(c.id, 'active');
    const minutes = new MongoMinuteStore(t.db);
    await minutes.record({ callId: c.id, minute: 1, at: new Date(), hostId: c.host_id, guestId: c.guest_id, reconnecting: [], late: false, node: 'n' });
    await until(async () => (await minutes.pendingOf(c.id)) === 0, 10000, 'free minute applied');
    expect(await t.db.collection('billed_minutes').findOne({ call_id: c.id })).toMatchObject({ status: 'free', gross_minor: 0 });
    expect(await t.db.collection('payments').countDocuments({ call_id: c.id })).toBe(0);
  });
});
