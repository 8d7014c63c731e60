import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerRepository } from '../../../api/repositories/ledger.js';
import { Accounts } from '../../../api/services/payments/accounts.js';
import { LedgerService } from '../../../api/services/payments/ledger.js';
import { MongoMinuteStore } from '../../../shared/billing/index.js';
import { MongoCallStore, type Call } from '../../../shared/calls/index.js';
import { expectLedgerBalanced } from '../../helpers/ledger.js';
import { until } from '../../helpers/poll.js';
import { call, makeGuest, makeHost, type Actor } from '../users/fixtures.js';
import { deliver, startPaymentsHarness, stripeEvent, type PaymentsHarness } from './harness.js';

const RATE = 200;
const FEE_BPS = 1000;

/** Refund and dispute webhooks, signed as Stripe signs them, reverse a settled call in the ledger. */
describe('refund and dispute webhooks → billing reversals', () => {
  let h: PaymentsHarness;
  let ledger: LedgerService;
  let minutes: MongoMinuteStore;
  let store: MongoCallStore;
  beforeAll(async () => {
    h = await startPaymentsHarness({
      PLATFORM_FEE_BPS: String(FEE_BPS), BILLING_HOLD_MINUTES: '4', BILLING_POLL_MS: '50', BILLING_SETTLE_DELAY_MS: '0', EARNINGS_HOLD_DAYS: '0',
    });
    ledger = new LedgerService(new LedgerRepository(h.t.db));
    minutes = new MongoMinuteStore(h.t.db);
    store = new MongoCallStore(h.t.db);
  }, 60000);
  afterAll(async () => {
    if (ledger) await expectLedgerBalanced(ledger);
    await h?.stop();
  });

  async function paidCall(): Promise<{ host: Actor; call: Call; pi: string }> {
    const host = await makeHost(h.t, { rate: { amount: RATE, currency: 'USD' } });
    const link = await call(h.t, 'POST', '/v1/calls/links', { token: host.token, body: {} });
    const guest = await makeGuest(h.t);
    const res = await call(h.t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(res.status).toBe(201);
    const c: Call = res.body.data.call;
    const payment = await until(() => h.t.db.collection('payments').findOne({ call_id: c.id }), 10000, 'payment');
    const hold = await until(() => h.t.db.collection('payment_holds').findOne({ payment_id: payment._id }), 10000, 'hold');
    return { host, call: c, pi: hold.pi as string };
  }

  async function bill(c: Call, count: number): Promise<void> {
    await store.transition(c.id, 'active');
    for (let n = 1; n <= count; n++) {
      await minutes.record({ callId: c.id, minute: n, at: new Date(Date.now() - 1000), hostId: c.host_id, guestId: c.guest_id, reconnecting: [], late: false, node: 'n1' });
    }
    await until(async () => (await minutes.pendingOf(c.id)) === 0, 20000, 'minutes applied');
    await store.transition(c.id, 'ended');
  }

  const settled = (callId: string) => until(async () => {
    const p = await h.t.db.collection('payments').findOne({ call_id: callId });
    return p?.state === 'settled' ? p : null;
  }, 20000, `payment of ${callId} settled`);

  const charge = (pi: string, refunds: Array<{ id: string; amount: number }>) => ({
    id: `ch_${pi.slice(3)}`, object: 'charge', payment_intent: pi, amount: 600, amount_refunded: refunds.reduce((s, r) => s + r.amount, 0), currency: 'usd',
    refunds: { object: 'list', data: refunds.map((r) => ({ object: 'refund', status: 'succeeded', currency: 'usd', ...r })) },
  });

  it('charge.refunded reverses each refund object once; redeliveries and cumulative events do not double it', async () => {
    const { host, call: c, pi } = await paidCall();
    await bill(c, 3); // 3 × 200: net 180 each → 540 available after release
    await settled(c.id);
    const available = Accounts.hostAvailable(host.user.id);
    await until(async () => (await ledger.balance(available, 'USD')) === -540, 20000, 'earning released');
    const first = stripeEvent('charge.refunded', charge(pi, [{ id: 're_a1', amount: 200 }]));
    expect((await deliver(h.t, first)).body.data.outcome).toBe('processed');
    expect((await deliver(h.t, first)).body.data.outcome).toBe('duplicate');
    const second = stripeEvent('charge.refunded', charge(pi, [{ id: 're_a1', amount: 200 }, { id: 're_a2', amount: 100 }]));
    expect((await deliver(h.t, second)).body.data.outcome).toBe('processed');
    expect(await ledger.balance(available, 'USD')).toBe(-540 + 180 + 90);
    const history = await call(h.t, 'GET', `/v1/payments/history?call_id=${c.id}&status=reversed`, { token: host.token });
    expect(history.body.data.map((r: { id: string; amount_minor: number }) => [r.id, r.amount_minor]).sort()).toEqual([['refund:re_a1', 180], ['refund:re_a2', 90]]);
    await expectLedgerBalanced(ledger);
  });

  it('a refund event before the call is settled answers 503; Stripe\'s retry after settlement is applied', async () => {
    const { host, call: c, pi } = await paidCall();
    const early = stripeEvent('charge.refunded', charge(pi, [{ id: 're_b1', amount: 200 }]));
    const refused = await deliver(h.t, early);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('service_unavailable');
    await bill(c, 2);
    await settled(c.id);
    const retried = await deliver(h.t, early);
    expect(retried.body.data.outcome).toBe('processed');
    expect((await ledger.get('refund:re_b1'))?.refs.call_id).toBe(c.id);
    expect(host.user.id).toBeTruthy();
  });

  it('charge.dispute.created withdraws the disputed amount; charge.dispute.closed (won) reinstates it', async () => {
    const { host, call: c, pi } = await paidCall();
    await bill(c, 2); // 400 captured, 360 net
    await settled(c.id);
    const available = Accounts.hostAvailable(host.user.id);
    await until(async () => (await ledger.balance(available, 'USD')) === -360, 20000, 'earning released');
    const dispute = { id: 'dp_c1', object: 'dispute', payment_intent: pi, amount: 400, currency: 'usd', status: 'needs_response' };
    const now = Math.floor(Date.now() / 1000);
    const won = stripeEvent('charge.dispute.closed', { ...dispute, status: 'won' }, { created: now + 5 });
    const created = stripeEvent('charge.dispute.created', dispute, { created: now });
    expect((await deliver(h.t, created)).body.data.outcome).toBe('processed');
    expect(await ledger.balance(available, 'USD')).toBe(0);
    expect((await deliver(h.t, won)).body.data.outcome).toBe('processed');
    expect(await ledger.balance(available, 'USD')).toBe(-360);
    const unknown = stripeEvent('charge.dispute.created', { ...dispute, id: 'dp_other', payment_intent: 'pi_not_ours' });
    expect((await deliver(h.t, unknown)).status).toBe(200);
    await expectLedgerBalanced(ledger);
  });
});
