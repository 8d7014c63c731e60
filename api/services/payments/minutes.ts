import type { Logger } from 'pino';
import type { MinuteSource, MongoFundingStore, StoredMinute } from '../../../shared/billing/index.js';
import type { CallStore } from '../../../shared/calls/index.js';
import type { BilledMinute, BilledMinutesRepository } from '../../repositories/billed-minutes.js';
import type { CallPaymentsRepository } from '../../repositories/call-payments.js';
import { eachLimited } from './concurrency.js';
import type { HoldService } from './holds.js';
import type { LedgerService, PostRequest } from './ledger.js';
import { decideCall, isLatePayment, type CallState } from './minute-outcomes.js';
import { MinuteFunding, type FundingInput } from './minute-funding.js';
import { minutePosting } from './postings.js';

export interface MinutesDeps {
  source: MinuteSource;
  billed: BilledMinutesRepository;
  payments: CallPaymentsRepository;
  calls: Pick<CallStore, 'get'>;
  holds: HoldService;
  funding: MongoFundingStore;
  ledger: LedgerService;
  log: Logger;
  extendAtMinutes: number;
  now: () => Date;
}

/**
 * Applies the minutes the signal tier recorded, each exactly once, a batch at a time: its
 * outcome is one `billed_minutes` row (`<callId>:<minute>`, first writer wins) and, when billed,
 * one ledger transaction `minute:<callId>:<minute>`; the input rows are marked applied last, so
 * a crash in between only repeats writes that are no-ops. Reads are by key (FerretDB 1.x reads
 * a whole collection for `$in`), `concurrency` calls at a time; writes are one command each.
 */
export class MinuteApplier {
  private readonly funding: MinuteFunding;

  constructor(private readonly deps: MinutesDeps) {
    this.funding = new MinuteFunding(deps);
  }

  /** Applies up to `limit` pending minutes; returns how many were fetched. */
  async applyPending(limit: number, concurrency = 1): Promise<number> {
    const minutes = await this.deps.source.pending(limit);
    if (minutes.length === 0) return 0;
    const byCall = new Map<string, StoredMinute[]>();
    for (const minute of minutes) {
      const list = byCall.get(minute.callId);
      if (list) list.push(minute);
      else byCall.set(minute.callId, [minute]);
    }
    for (const list of byCall.values()) list.sort((a, b) => a.minute - b.minute);
    const states = new Map<string, CallState>();
    await eachLimited([...byCall.keys()], concurrency, async (callId) => {
      states.set(callId, await this.load(callId));
    });

    const now = this.deps.now();
    const fresh: BilledMinute[] = [];
    const decided: BilledMinute[] = [];
    for (const [callId, list] of byCall) {
      const decision = decideCall(list, states.get(callId)!, this.deps.extendAtMinutes, now);
      fresh.push(...decision.fresh);
      decided.push(...decision.kept);
    }
    decided.push(...(await this.deps.billed.recordMany(fresh)));

    const failed = await this.post(decided, states);
    await this.funding.fund(this.fundingInputs(decided, states), concurrency);
    const applied = decided.filter((row) => !failed.has(`${row.call_id}:${row.minute}`));
    await this.deps.source.markAppliedMany(applied.map((row) => ({ callId: row.call_id, minute: row.minute })), this.deps.now());
    return minutes.length;
  }

  /** What deciding a call's minutes needs: its payment and, while it takes minutes, its call, outcomes and holds. */
  private async load(callId: string): Promise<CallState> {
    const payment = await this.deps.payments.byCall(callId);
    if (!payment || isLatePayment(payment)) return { payment, call: null, stored: new Map(), authorized: 0 };
    const [call, rows, authorized] = await Promise.all([
      this.deps.calls.get(callId), this.deps.billed.ofCall(callId), this.deps.holds.authorized(payment.id),
    ]);
    return { payment, call, stored: new Map(rows.map((row) => [row.minute, row])), authorized };
  }

  /** Posts the billed minutes to the ledger in one insert; returns the keys of minutes that could not be posted. */
  private async post(rows: BilledMinute[], states: Map<string, CallState>): Promise<Set<string>> {
    const requests: PostRequest[] = [];
    const keys: string[] = [];
    for (const row of rows) {
      const payment = states.get(row.call_id)?.payment;
      if (row.status !== 'billed' || !payment) continue;
      const posting = minutePosting({
        callId: row.call_id, minute: row.minute, guestId: payment.guest_id, hostId: payment.host_id, currency: payment.currency,
        split: { gross: row.gross_minor, fee: row.fee_minor, net: row.net_minor }, paymentId: payment.id,
      });
      if (!posting) continue;
      requests.push(posting);
      keys.push(`${row.call_id}:${row.minute}`);
    }
    const failed = new Set<string>();
    if (requests.length === 0) return failed;
    const results = await this.deps.ledger.postMany(requests);
    results.forEach((result, i) => {
      if (!(result instanceof Error)) return;
      failed.add(keys[i]!);
      this.deps.log.warn({ err: result, minute: keys[i] }, 'billing minute not applied; will retry');
    });
    return failed;
  }

  /** Calls with a billed or unfunded minute in this pass, with their billed count after it and the highest such minute. */
  private fundingInputs(rows: BilledMinute[], states: Map<string, CallState>): FundingInput[] {
    const billedOf = new Map<string, Set<number>>();
    const throughOf = new Map<string, number>();
    for (const row of rows) {
      const state = states.get(row.call_id);
      if (!state?.payment || (row.status !== 'billed' && row.status !== 'unfunded')) continue;
      throughOf.set(row.call_id, Math.max(throughOf.get(row.call_id) ?? 0, row.minute));
      let billed = billedOf.get(row.call_id);
      if (!billed) {
        billed = new Set([...state.stored.values()].filter((stored) => stored.status === 'billed').map((stored) => stored.minute));
        billedOf.set(row.call_id, billed);
      }
      if (row.status === 'billed') billed.add(row.minute);
    }
    return [...billedOf].map(([callId, billed]) => {
      const state = states.get(callId)!;
      return { payment: state.payment!, authorized: state.authorized, billed: billed.size, throughMinute: throughOf.get(callId) ?? 0 };
    });
  }
}
