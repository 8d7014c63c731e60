import type { Logger } from 'pino';
import type { MinuteSource, MongoFundingStore, StoredMinute } from '../../../shared/billing/index.js';
import { isTerminal, type CallStore } from '../../../shared/calls/index.js';
import type { BilledMinutesRepository, MinuteStatus } from '../../repositories/billed-minutes.js';
import type { CallPayment, CallPaymentsRepository } from '../../repositories/call-payments.js';
import { splitMinute } from './accounts.js';
import { eachLimited } from './concurrency.js';
import { fundedMinutes, type HoldService } from './holds.js';
import type { LedgerService } from './ledger.js';
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
 * Applies the minutes the signal tier recorded, each exactly once: its outcome is one
 * `billed_minutes` row (`<callId>:<minute>`, first writer wins) and, when billed, one ledger
 * transaction `minute:<callId>:<minute>`; the input row is marked applied last, so a crash in
 * between only repeats writes that are no-ops.
 */
export class MinuteApplier {
  constructor(private readonly deps: MinutesDeps) {}

  /**
   * Applies up to `limit` pending minutes, `concurrency` calls at a time (a call's minutes in
   * order, one after the other: they share its payment); returns how many were fetched.
   */
  async applyPending(limit: number, concurrency = 1): Promise<number> {
    const minutes = await this.deps.source.pending(limit);
    const byCall = new Map<string, StoredMinute[]>();
    for (const minute of minutes) {
      const list = byCall.get(minute.callId);
      if (list) list.push(minute);
      else byCall.set(minute.callId, [minute]);
    }
    await eachLimited([...byCall.values()], concurrency, async (ofCall) => {
      for (const minute of ofCall) {
        try {
          await this.apply(minute);
        } catch (err) {
          this.deps.log.warn({ err, call: minute.callId, minute: minute.minute }, 'billing minute not applied; will retry');
        }
      }
    });
    return minutes.length;
  }

  private async outcome(minute: StoredMinute, payment: CallPayment | null): Promise<MinuteStatus> {
    if (!payment) return 'free';
    if (payment.state === 'settling' || payment.state === 'settled' || payment.state === 'failed') return 'late';
    const call = await this.deps.calls.get(minute.callId);
    if (call && isTerminal(call.status) && call.ended_at && minute.at.getTime() > call.ended_at.getTime()) return 'after_end';
    if (minute.reconnecting.length > 0) return 'reconnecting';
    const funded = fundedMinutes(await this.deps.holds.authorized(payment.id), payment.rate_minor);
    if ((await this.deps.billed.countBilled(minute.callId)) >= funded) return 'unfunded';
    return 'billed';
  }

  async apply(minute: StoredMinute): Promise<MinuteStatus> {
    const payment = await this.deps.payments.byCall(minute.callId);
    const status = await this.outcome(minute, payment);
    const split = payment && status === 'billed' ? splitMinute(payment.rate_minor, payment.fee_bps) : { gross: 0, fee: 0, net: 0 };
    const row = await this.deps.billed.recordOnce({
      call_id: minute.callId, minute: minute.minute, status, payment_id: payment?.id ?? null, currency: payment?.currency ?? 'USD',
      gross_minor: split.gross, fee_minor: split.fee, net_minor: split.net, at: minute.at, applied_at: this.deps.now(),
    });
    if (row.status === 'billed' && payment) {
      const posting = minutePosting({
        callId: minute.callId, minute: minute.minute, guestId: payment.guest_id, hostId: payment.host_id, currency: payment.currency,
        split: { gross: row.gross_minor, fee: row.fee_minor, net: row.net_minor }, paymentId: payment.id,
      });
      if (posting) await this.deps.ledger.post(posting);
      await this.fund(payment, minute.minute);
    }
    if (row.status === 'unfunded' && payment) await this.fund(payment, minute.minute);
    await this.deps.source.markApplied(minute.callId, minute.minute, this.deps.now());
    return row.status;
  }

  /**
   * Keeps the hold ahead of use: extends it when few paid minutes are left, and publishes the
   * minutes left (call_funding), as of minute `throughMinute`, for the signal tier's warnings and
   * its `insufficient_funds` end.
   */
  private async fund(payment: CallPayment, throughMinute: number): Promise<void> {
    const billed = await this.deps.billed.countBilled(payment.call_id);
    let authorized = await this.deps.holds.authorized(payment.id);
    let exhausted = payment.exhausted;
    if (!exhausted && fundedMinutes(authorized, payment.rate_minor) - billed <= this.deps.extendAtMinutes) {
      try {
        if (await this.deps.holds.extend(payment)) authorized = await this.deps.holds.authorized(payment.id);
        else exhausted = true;
      } catch (err) {
        this.deps.log.warn({ err, call: payment.call_id }, 'hold extension failed; retried at the next minute');
      }
    }
    const left = Math.max(0, fundedMinutes(authorized, payment.rate_minor) - billed);
    await this.deps.payments.update(payment.id, { paid_minutes_left: left, exhausted, updated_at: this.deps.now() });
    await this.deps.funding.set({ callId: payment.call_id, paidMinutesLeft: left, exhausted, throughMinute, updatedAt: this.deps.now() });
  }
}
