import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LedgerRepository } from '../../../api/repositories/ledger.js';
import { Accounts, splitIncrement, splitMinute, splitProportionally } from '../../../api/services/payments/accounts.js';
import { LedgerService } from '../../../api/services/payments/ledger.js';
import {
  capturePosting, minutePosting, payoutFailedPosting, payoutPaidPosting, payoutRequestedPosting, releasePosting, reversalPosting, writeOffPosting,
} from '../../../api/services/payments/postings.js';
import { newId } from '../../../shared/ids.js';
import { expectLedgerBalanced } from '../../helpers/ledger.js';
import { freshDb } from '../../helpers/services.js';

describe('ledger on real storage', () => {
  let db: Awaited<ReturnType<typeof freshDb>>;
  let ledger: LedgerService;
  beforeAll(async () => {
    db = await freshDb('ledger');
    const repo = new LedgerRepository(db.db);
    await repo.ensureIndexes();
    ledger = new LedgerService(repo);
  });
  afterEach(async () => { await expectLedgerBalanced(ledger); });
  afterAll(async () => { await db.drop(); });

  const split = splitMinute(250, 1500); // fee 37, net 213

  async function billMinutes(callId: string, guestId: string, hostId: string, n: number): Promise<void> {
    for (let minute = 0; minute < n; minute++) {
      await ledger.post(minutePosting({ callId, minute, guestId, hostId, currency: 'USD', split })!);
    }
  }

  const total = (n: number) => ({ gross: n * split.gross, fee: n * split.fee, net: n * split.net });

  async function settle(callId: string, guestId: string, hostId: string, n: number): Promise<void> {
    await ledger.post(capturePosting({ callId, guestId, currency: 'USD', amount: total(n).gross })!);
    await ledger.post(releasePosting({ callId, hostId, currency: 'USD', net: total(n).net })!);
  }

  it('books minutes as receivable, host pending and fee; a capture moves them to cash and available', async () => {
    const [callId, guestId, hostId] = [newId(), `gs_${newId()}`, newId()];
    await billMinutes(callId, guestId, hostId, 3);
    expect(await ledger.balance(Accounts.guest(guestId), 'USD')).toBe(750);
    expect(await ledger.balance(Accounts.hostPending(hostId), 'USD')).toBe(-3 * 213);
    await ledger.post(capturePosting({ callId, guestId, currency: 'USD', amount: total(3).gross })!);
    expect(await ledger.balance(Accounts.hostPending(hostId), 'USD')).toBe(-3 * 213);
    await ledger.post(releasePosting({ callId, hostId, currency: 'USD', net: total(3).net })!);
    const rows = await ledger.balances({ accounts: [Accounts.guest(guestId), Accounts.hostPending(hostId), Accounts.hostAvailable(hostId)] });
    expect(rows).toEqual([
      { account: Accounts.guest(guestId), currency: 'USD', balance_minor: 0 },
      { account: Accounts.hostAvailable(hostId), currency: 'USD', balance_minor: -639 },
      { account: Accounts.hostPending(hostId), currency: 'USD', balance_minor: 0 },
    ]);
    const page = await ledger.entries({ callId, skip: 0, limit: 10 });
    expect(page.total).toBe(5);
    expect(page.items.map((t) => t.kind).sort()).toEqual(['capture', 'earning_release', 'minute', 'minute', 'minute']);
  });

  it('posts a minute once: the same minute again, twice at once or late, changes nothing', async () => {
    const [callId, guestId, hostId] = [newId(), 'gs_dup', newId()];
    const posting = minutePosting({ callId, minute: 0, guestId, hostId, currency: 'USD', split })!;
    const results = await Promise.all([ledger.post(posting), ledger.post(posting), ledger.post(posting)]);
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect((await ledger.post(posting)).applied).toBe(false);
    expect(await ledger.balance(Accounts.hostPending(hostId), 'USD')).toBe(-213);
  });

  it('refuses the same key with other content, and unbalanced writes never reach storage', async () => {
    const [callId, hostId] = [newId(), newId()];
    await ledger.post(minutePosting({ callId, minute: 0, guestId: 'gs_a', hostId, currency: 'USD', split })!);
    await expect(ledger.post(minutePosting({ callId, minute: 0, guestId: 'gs_a', hostId, currency: 'USD', split: splitMinute(300, 1500) })!))
      .rejects.toThrow(/different content/);
    await expect(ledger.post({ id: `minute:${callId}:1`, kind: 'minute', currency: 'USD', postings: [{ account: 'guest:gs_a', amount_minor: 5 }, { account: 'platform:fees', amount_minor: -4 }] }))
      .rejects.toThrow(TypeError);
    expect(await ledger.get(`minute:${callId}:1`)).toBeNull();
  });

  it('reverses a partial refund, a lost dispute and a won dispute in proportion, to the last unit', async () => {
    const [callId, guestId, hostId] = [newId(), 'gs_r', newId()];
    await billMinutes(callId, guestId, hostId, 4);
    await settle(callId, guestId, hostId, 4);
    const refund = splitProportionally(400, total(4));
    await ledger.post(reversalPosting({ id: 'refund:re_1', kind: 'refund', callId, hostId, guestId, currency: 'USD', split: refund })!);
    await ledger.post(reversalPosting({ id: 'refund:re_1', kind: 'refund', callId, hostId, guestId, currency: 'USD', split: refund })!);
    expect(await ledger.balance(Accounts.stripeClearing, 'USD')).toBeGreaterThan(0);
    const rest = splitIncrement(400, 600, total(4));
    await ledger.post(reversalPosting({ id: 'dispute:dp_1', kind: 'dispute', callId, hostId, guestId, currency: 'USD', split: rest })!);
    expect(await ledger.balance(Accounts.hostAvailable(hostId), 'USD')).toBe(0);
    await ledger.post(reversalPosting({ id: 'dispute_won:dp_1', kind: 'dispute_won', callId, hostId, guestId, currency: 'USD', split: rest })!);
    expect(await ledger.balance(Accounts.hostAvailable(hostId), 'USD')).toBe(-rest.net);
  });

  it('moves payouts through in-transit; a failed payout returns the money; paid out is a kind total', async () => {
    const [callId, guestId, hostId] = [newId(), 'gs_p', newId()];
    await billMinutes(callId, guestId, hostId, 2);
    await settle(callId, guestId, hostId, 2);
    await ledger.post(payoutRequestedPosting({ payoutId: 'po_1', hostId, currency: 'USD', amount: 300 })!);
    expect(await ledger.balance(Accounts.hostAvailable(hostId), 'USD')).toBe(-126);
    expect(await ledger.balance(Accounts.hostInTransit(hostId), 'USD')).toBe(-300);
    await ledger.post(payoutPaidPosting({ payoutId: 'po_1', hostId, currency: 'USD', amount: 300 })!);
    await ledger.post(payoutRequestedPosting({ payoutId: 'po_2', hostId, currency: 'USD', amount: 126 })!);
    await ledger.post(payoutFailedPosting({ payoutId: 'po_2', hostId, currency: 'USD', amount: 126 })!);
    expect(await ledger.balance(Accounts.hostAvailable(hostId), 'USD')).toBe(-126);
    expect(await ledger.balance(Accounts.hostInTransit(hostId), 'USD')).toBe(0);
    expect(await ledger.kindTotals(Accounts.hostInTransit(hostId))).toEqual([
      { kind: 'payout', currency: 'USD', total_minor: -426 },
      { kind: 'payout_failed', currency: 'USD', total_minor: 126 },
      { kind: 'payout_paid', currency: 'USD', total_minor: 300 },
    ]);
  });

  it('writes off minutes that could not be captured; the host keeps the earning', async () => {
    const [callId, guestId, hostId] = [newId(), 'gs_w', newId()];
    await billMinutes(callId, guestId, hostId, 2);
    await ledger.post(writeOffPosting({ callId, guestId, currency: 'USD', amount: total(2).gross })!);
    await ledger.post(releasePosting({ callId, hostId, currency: 'USD', net: total(2).net })!);
    expect(await ledger.balance(Accounts.guest(guestId), 'USD')).toBe(0);
    expect(await ledger.balance(Accounts.hostAvailable(hostId), 'USD')).toBe(-426);
    expect(await ledger.balance(Accounts.platformLosses, 'USD')).toBe(500);
  });

  it('keeps currencies apart and lists balances under a prefix', async () => {
    const hostId = newId();
    await ledger.post(minutePosting({ callId: newId(), minute: 0, guestId: 'gs_e', hostId, currency: 'EUR', split })!);
    await ledger.post(minutePosting({ callId: newId(), minute: 0, guestId: 'gs_e', hostId, currency: 'GBP', split })!);
    const rows = await ledger.balances({ prefix: `host:${hostId}:` });
    expect(rows).toEqual([
      { account: Accounts.hostPending(hostId), currency: 'EUR', balance_minor: -213 },
      { account: Accounts.hostPending(hostId), currency: 'GBP', balance_minor: -213 },
    ]);
  });

  it('the balance check can fail: a stray unbalanced document shows in the totals', async () => {
    const other = await freshDb('ledgerbad');
    try {
      const repo = new LedgerRepository(other.db);
      await repo.collection.insertOne({ _id: 'minute:x:0', kind: 'minute', currency: 'USD', postings: [{ account: 'guest:g', amount_minor: 5 }], refs: {}, created_at: new Date(), accounts: ['guest:g'] });
      expect(await new LedgerService(repo).totals()).toEqual(new Map([['USD', 5]]));
    } finally {
      await other.drop();
    }
  });

  it('posts nothing for a free minute (rate 0)', () => {
    expect(minutePosting({ callId: 'c', minute: 0, guestId: 'g', hostId: 'h', currency: 'USD', split: splitMinute(0, 1500) })).toBeNull();
  });
});
