import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerRepository } from '../../../api/repositories/ledger.js';
import { splitMinute } from '../../../api/services/payments/accounts.js';
import { LedgerService } from '../../../api/services/payments/ledger.js';
import { capturePosting, minutePosting, releasePosting, reversalPosting } from '../../../api/services/payments/postings.js';
import { newId } from '../../../shared/ids.js';
import { expectLedgerBalanced } from '../../helpers/ledger.js';
import { call, makeGuest, makeHost, type Actor } from '../users/fixtures.js';
import { deliver, startPaymentsHarness, stripeEvent, type PaymentsHarness } from './harness.js';

const FEE_BPS = 1000;

/** Books a settled call the way billing does: N minutes, the capture, the release after the hold window. */
async function settledCall(ledger: LedgerService, o: { hostId: string; guestId: string; minutes: number; rate: number; currency?: string; at: Date; release?: boolean }): Promise<string> {
  const callId = newId();
  const currency = o.currency ?? 'USD';
  const split = splitMinute(o.rate, FEE_BPS);
  for (let n = 1; n <= o.minutes; n += 1) {
    await ledger.post({ ...minutePosting({ callId, minute: n, guestId: o.guestId, hostId: o.hostId, currency, split })!, created_at: new Date(o.at.getTime() + n * 60_000) });
  }
  const gross = split.gross * o.minutes;
  await ledger.post({ ...capturePosting({ callId, guestId: o.guestId, amount: gross, currency })!, created_at: new Date(o.at.getTime() + (o.minutes + 1) * 60_000) });
  if (o.release !== false) {
    await ledger.post({ ...releasePosting({ callId, hostId: o.hostId, currency, net: split.net * o.minutes })!, created_at: new Date(o.at.getTime() + (o.minutes + 2) * 60_000) });
  }
  return callId;
}

async function onboard(h: PaymentsHarness, host: Actor): Promise<string> {
  const link = await call(h.t, 'POST', '/v1/payments/connect/account-link', { token: host.token });
  const accountId: string = link.body.data.account_id;
  const event = stripeEvent('account.updated', { id: accountId, object: 'account', charges_enabled: true, payouts_enabled: true, details_submitted: true, requirements: { currently_due: [] } }, { created: Math.floor(Date.now() / 1000) + 60 });
  expect((await deliver(h.t, event)).status).toBe(200);
  return accountId;
}

describe('history, export, earnings and chart', () => {
  let h: PaymentsHarness;
  let ledger: LedgerService;
  let host: Actor;
  let guest: { id: string; token: string };
  let callA: string;
  let callB: string;
  beforeAll(async () => {
    h = await startPaymentsHarness({ PLATFORM_FEE_BPS: String(FEE_BPS) });
    ledger = new LedgerService(new LedgerRepository(h.t.db));
    host = await makeHost(h.t, { time_zone: 'America/New_York' });
    guest = await makeGuest(h.t);
    // 2026-03-01T03:00Z is still Feb 28 in New York.
    callA = await settledCall(ledger, { hostId: host.user.id, guestId: guest.id, minutes: 3, rate: 250, at: new Date('2026-03-01T03:00:00Z') });
    callB = await settledCall(ledger, { hostId: host.user.id, guestId: guest.id, minutes: 2, rate: 250, at: new Date('2026-03-03T15:00:00Z'), release: false });
    const split = splitMinute(250, FEE_BPS);
    await ledger.post({ ...reversalPosting({ id: 'refund:re_test1', kind: 'refund', callId: callA, hostId: host.user.id, guestId: guest.id, currency: 'USD', split: { gross: split.gross, fee: split.fee, net: split.net } })!, created_at: new Date('2026-03-04T10:00:00Z') });
  });
  afterAll(async () => {
    if (ledger) await expectLedgerBalanced(ledger);
    await h?.stop();
  });

  it('the guest sees what they paid; the host sees earnings and reversals; pagination per spec 000', async () => {
    const mine = await call(h.t, 'GET', '/v1/payments/history', { token: guest.token });
    expect(mine.status).toBe(200);
    // The refund of one minute of call A is the guest's too: the whole refunded amount, back to their card.
    expect(mine.body.data).toEqual([
      expect.objectContaining({ id: 'refund:re_test1', type: 'refund', status: 'reversed', amount_minor: 250, currency: 'USD', call_id: callA }),
      expect.objectContaining({ type: 'charge', status: 'succeeded', amount_minor: 500, currency: 'USD', call_id: callB }),
      expect.objectContaining({ type: 'charge', status: 'succeeded', amount_minor: 750, call_id: callA }),
    ]);
    expect(mine.body.pagination).toEqual({ page: 1, per_page: 20, total: 3, total_pages: 1 });
    const hosts = await call(h.t, 'GET', '/v1/payments/history', { token: host.token });
    expect(hosts.body.data.map((r: { type: string; status: string; amount_minor: number }) => [r.type, r.status, r.amount_minor])).toEqual([
      ['refund', 'reversed', 225], ['earning', 'available', 675],
    ]);
    const paged = await call(h.t, 'GET', '/v1/payments/history?per_page=1&page=3', { token: guest.token });
    expect(paged.body.data).toHaveLength(1);
    expect(paged.body.data[0]).toMatchObject({ type: 'charge', call_id: callA });
    expect(paged.body.pagination).toEqual({ page: 3, per_page: 1, total: 3, total_pages: 3 });
  });

  it('filters by call, status and date range, and validates them', async () => {
    const byCall = await call(h.t, 'GET', `/v1/payments/history?call_id=${callA}`, { token: guest.token });
    expect(byCall.body.data.map((r: { id: string }) => r.id)).toEqual(['refund:re_test1', `capture:${callA}`]);
    const byStatus = await call(h.t, 'GET', '/v1/payments/history?status=reversed', { token: host.token });
    expect(byStatus.body.data.map((r: { id: string }) => r.id)).toEqual(['refund:re_test1']);
    const byDate = await call(h.t, 'GET', '/v1/payments/history?from=2026-03-02T00:00:00Z&to=2026-03-05T00:00:00Z', { token: guest.token });
    expect(byDate.body.data.map((r: { id: string }) => r.id)).toEqual(['refund:re_test1', `capture:${callB}`]);
    const guestReversed = await call(h.t, 'GET', '/v1/payments/history?status=reversed', { token: guest.token });
    expect(guestReversed.body.data.map((r: { id: string }) => r.id)).toEqual(['refund:re_test1']);
    for (const bad of ['status=nope', 'call_id=x', 'from=yesterday', 'per_page=101', 'page=0', 'from=2026-03-05T00:00:00Z&to=2026-03-01T00:00:00Z', 'extra=1']) {
      const res = await call(h.t, 'GET', `/v1/payments/history?${bad}`, { token: guest.token });
      expect({ bad, status: res.status, code: res.body.error?.code }).toEqual({ bad, status: 400, code: 'validation_error' });
    }
    expect((await call(h.t, 'GET', '/v1/payments/history')).status).toBe(401);
  });

  it('exports the same rows as CSV with a filename, RFC 4180 quoting and no formula cells', async () => {
    const res = await fetch(`${h.t.url}/v1/payments/history/export?status=succeeded`, { headers: { Authorization: `Bearer ${guest.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="vidivo-payments-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toBe('created_at,id,type,status,amount_minor,currency,call_id,payout_id');
    expect(lines.slice(1, -1)).toHaveLength(2);
    expect(lines[1]).toContain(`capture:${callB},charge,succeeded,500,USD,${callB},`);
    expect(lines.at(-1)).toBe('');
    const bad = await fetch(`${h.t.url}/v1/payments/history/export?status=zzz`, { headers: { Authorization: `Bearer ${guest.token}` } });
    expect(bad.status).toBe(400);
  });

  it('earnings: gross, fees, net, reversed, pending, available per currency', async () => {
    const res = await call(h.t, 'GET', '/v1/payments/earnings', { token: host.token });
    expect(res.status).toBe(200);
    // 5 minutes at 250: fee 25, net 225 each. Call A (675) released, one minute refunded (225); call B (450) pending.
    expect(res.body.data).toEqual([{
      currency: 'USD', gross_minor: 1250, fees_minor: 125, net_minor: 1125, minutes: 5, reversed_minor: 225,
      pending_minor: 450, available_minor: 450, in_transit_minor: 0, paid_out_minor: 0,
    }]);
    expect((await call(h.t, 'GET', '/v1/payments/earnings', { token: guest.token })).status).toBe(403);
  });

  it('chart: buckets in the host\'s time zone, zero-filled, by day, week and month', async () => {
    const days = await call(h.t, 'GET', '/v1/payments/earnings/chart?from=2026-02-27T12:00:00Z&to=2026-03-05T00:00:00Z', { token: host.token });
    expect(days.status).toBe(200);
    expect(days.body.data.time_zone).toBe('America/New_York');
    const series = days.body.data.series;
    expect(series).toHaveLength(1);
    expect(series[0].buckets.map((b: { start: string; net_minor: number; minutes: number }) => [b.start, b.net_minor, b.minutes])).toEqual([
      ['2026-02-27', 0, 0], ['2026-02-28', 675, 3], ['2026-03-01', 0, 0], ['2026-03-02', 0, 0], ['2026-03-03', 450, 2], ['2026-03-04', 0, 0],
    ]);
    const utc = await call(h.t, 'GET', '/v1/payments/earnings/chart?from=2026-02-27T12:00:00Z&to=2026-03-05T00:00:00Z&time_zone=UTC', { token: host.token });
    expect(utc.body.data.series[0].buckets.find((b: { start: string }) => b.start === '2026-03-01').net_minor).toBe(675);
    const weeks = await call(h.t, 'GET', '/v1/payments/earnings/chart?from=2026-02-20T00:00:00Z&to=2026-03-10T00:00:00Z&interval=week', { token: host.token });
    expect(weeks.body.data.series[0].buckets.map((b: { start: string; net_minor: number }) => [b.start, b.net_minor])).toEqual([
      ['2026-02-16', 0], ['2026-02-23', 675], ['2026-03-02', 450], ['2026-03-09', 0],
    ]);
    const months = await call(h.t, 'GET', '/v1/payments/earnings/chart?from=2026-01-15T00:00:00Z&to=2026-04-02T00:00:00Z&interval=month&currency=EUR', { token: host.token });
    expect(months.body.data.series).toEqual([{ currency: 'EUR', buckets: [
      { start: '2026-01-01', gross_minor: 0, net_minor: 0, minutes: 0 }, { start: '2026-02-01', gross_minor: 0, net_minor: 0, minutes: 0 },
      { start: '2026-03-01', gross_minor: 0, net_minor: 0, minutes: 0 }, { start: '2026-04-01', gross_minor: 0, net_minor: 0, minutes: 0 },
    ] }]);
    for (const bad of ['from=2026-01-01T00:00:00Z', 'from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z', 'from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&time_zone=Mars/Base', 'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z']) {
      const res = await call(h.t, 'GET', `/v1/payments/earnings/chart?${bad}`, { token: host.token });
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
    }
  });
});

describe('payouts', () => {
  let h: PaymentsHarness;
  let ledger: LedgerService;
  beforeAll(async () => {
    h = await startPaymentsHarness({ PLATFORM_FEE_BPS: String(FEE_BPS), PAYOUT_MIN_MINOR: '500' });
    ledger = new LedgerService(new LedgerRepository(h.t.db));
  });
  afterAll(async () => {
    if (ledger) await expectLedgerBalanced(ledger);
    await h?.stop();
  });

  async function hostWithEarnings(minutes: number): Promise<{ host: Actor; accountId: string }> {
    const host = await makeHost(h.t);
    const guest = await makeGuest(h.t);
    await settledCall(ledger, { hostId: host.user.id, guestId: guest.id, minutes, rate: 200, at: new Date(Date.now() - 3_600_000) });
    return { host, accountId: await onboard(h, host) };
  }

  const payout = (host: Actor, body: unknown, key = randomUUID()) => call(h.t, 'POST', '/v1/payments/payout', { token: host.token, body, headers: { 'X-Idempotency-Key': key } });

  it('pays out all available earnings as one Transfer to the Connect account; a replay does not pay twice', async () => {
    const { host, accountId } = await hostWithEarnings(10); // 10 × 180 = 1800 available
    const key = randomUUID();
    const before = h.proxy.requests.length;
    const res = await payout(host, { currency: 'USD' }, key);
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ amount_minor: 1800, currency: 'USD', status: 'paid', transfer_id: expect.stringMatching(/^tr_/) });
    const transfers = h.proxy.requests.slice(before).filter((r) => r.path === '/v1/transfers');
    expect(transfers).toHaveLength(1);
    expect(transfers[0]!.idempotencyKey).toMatch(/^vidivo_transfer_/);
    const again = await payout(host, { currency: 'USD' }, key);
    expect(again.body).toEqual(res.body);
    expect(h.proxy.requests.slice(before).filter((r) => r.path === '/v1/transfers')).toHaveLength(1);
    const earnings = (await call(h.t, 'GET', '/v1/payments/earnings', { token: host.token })).body.data[0];
    expect(earnings).toMatchObject({ available_minor: 0, in_transit_minor: 0, paid_out_minor: 1800 });
    const list = await call(h.t, 'GET', '/v1/payments/payouts', { token: host.token });
    expect(list.body.data.map((p: { id: string; status: string }) => [p.id, p.status])).toEqual([[res.body.data.id, 'paid']]);
    expect(list.body.pagination.total).toBe(1);
    const history = await call(h.t, 'GET', '/v1/payments/history?status=paid', { token: host.token });
    expect(history.body.data).toEqual([expect.objectContaining({ type: 'payout', status: 'paid', amount_minor: 1800, payout_id: res.body.data.id })]);
    expect(accountId).toMatch(/^acct_/);
  });

  it('refuses below the minimum, above the available balance, without onboarding, without a key', async () => {
    const { host } = await hostWithEarnings(2); // 360 available
    const small = await payout(host, { currency: 'USD' });
    expect(small.status).toBe(400);
    expect(small.body.error.details).toMatchObject({ amount_minor: 'must be at least 500', available_minor: '360' });
    const rich = await hostWithEarnings(5); // 900
    const tooMuch = await payout(rich.host, { currency: 'USD', amount_minor: 901 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error.details.amount_minor).toBe('exceeds the available balance');
    const partial = await payout(rich.host, { currency: 'USD', amount_minor: 600 });
    expect(partial.body.data).toMatchObject({ amount_minor: 600, status: 'paid' });
    const notOnboarded = await makeHost(h.t);
    const refused = await payout(notOnboarded, { currency: 'USD' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toEqual({ connect: 'payouts_not_enabled' });
    const noKey = await call(h.t, 'POST', '/v1/payments/payout', { token: rich.host.token, body: { currency: 'USD' } });
    expect(noKey.status).toBe(400);
    expect((await payout(rich.host, { currency: 'usd' })).status).toBe(400);
    expect((await payout(rich.host, { currency: 'USD', amount_minor: -5 })).status).toBe(400);
  });

  it('concurrent payouts with different keys cannot spend one balance twice', async () => {
    const { host } = await hostWithEarnings(5); // 900
    const results = await Promise.all([payout(host, { currency: 'USD', amount_minor: 900 }), payout(host, { currency: 'USD', amount_minor: 900 })]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(201);
    expect([400, 409]).toContain(statuses[1]);
    const earnings = (await call(h.t, 'GET', '/v1/payments/earnings', { token: host.token })).body.data[0];
    expect(earnings).toMatchObject({ available_minor: 0, paid_out_minor: 900 });
  });

  it('a refused transfer fails the payout and returns the money to available', async () => {
    const { host } = await hostWithEarnings(5);
    const rule = h.proxy.inject({ path: '/v1/transfers', fault: { kind: 'status', status: 400, body: { error: { type: 'invalid_request_error', code: 'balance_insufficient', message: 'Insufficient funds in Stripe balance.' } } }, times: 1 });
    const res = await payout(host, { currency: 'USD' });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ code: 'stripe_error', details: { failure_code: 'balance_insufficient' } });
    expect(rule.hits).toBe(1);
    const list = await call(h.t, 'GET', '/v1/payments/payouts?status=failed', { token: host.token });
    expect(list.body.data).toEqual([expect.objectContaining({ status: 'failed', failure_code: 'balance_insufficient', amount_minor: 900 })]);
    expect((await call(h.t, 'GET', '/v1/payments/earnings', { token: host.token })).body.data[0]).toMatchObject({ available_minor: 900, in_transit_minor: 0 });
  });

  it('Stripe down: 503 and the payout stays pending; the retry with the same key finishes it with the same Stripe key', async () => {
    const { host } = await hostWithEarnings(5);
    const key = randomUUID();
    const rule = h.proxy.inject({ path: '/v1/transfers', fault: { kind: 'drop_after_forward' }, times: 2 });
    const before = h.proxy.requests.length;
    const down = await payout(host, { currency: 'USD' }, key);
    expect(down.status).toBe(503);
    expect(rule.hits).toBe(2);
    expect((await call(h.t, 'GET', '/v1/payments/earnings', { token: host.token })).body.data[0]).toMatchObject({ available_minor: 0, in_transit_minor: 900 });
    const retried = await payout(host, { currency: 'USD' }, key);
    expect(retried.status).toBe(201);
    expect(retried.body.data).toMatchObject({ status: 'paid', amount_minor: 900 });
    const keys = new Set(h.proxy.requests.slice(before).filter((r) => r.path === '/v1/transfers').map((r) => r.idempotencyKey));
    expect(keys.size).toBe(1);
    expect((await call(h.t, 'GET', '/v1/payments/payouts', { token: host.token })).body.data).toHaveLength(1);
    expect((await call(h.t, 'GET', '/v1/payments/earnings', { token: host.token })).body.data[0]).toMatchObject({ in_transit_minor: 0, paid_out_minor: 900 });
  });

  it('a transfer.created webhook settles a payout whose answer was lost', async () => {
    const { host } = await hostWithEarnings(5);
    const rule = h.proxy.inject({ path: '/v1/transfers', fault: { kind: 'timeout' } });
    const res = await payout(host, { currency: 'USD' });
    rule.remove();
    expect(res.status).toBe(503);
    const pending = (await call(h.t, 'GET', '/v1/payments/payouts?status=pending', { token: host.token })).body.data[0];
    const event = stripeEvent('transfer.created', { id: 'tr_lost1', object: 'transfer', amount: 900, currency: 'usd', metadata: { vidivo_payout_id: pending.id } });
    expect((await deliver(h.t, event)).body.data.outcome).toBe('processed');
    const paid = (await call(h.t, 'GET', '/v1/payments/payouts', { token: host.token })).body.data[0];
    expect(paid).toMatchObject({ id: pending.id, status: 'paid', transfer_id: 'tr_lost1' });
    expect((await deliver(h.t, stripeEvent('payout.paid', { id: 'po_x', object: 'payout', amount: 900 }))).body.data.outcome).toBe('processed');
  });
});
