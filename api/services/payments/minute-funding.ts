import type { Logger } from 'pino';
import type { CallFunding, MongoFundingStore } from '../../../shared/billing/index.js';
import type { CallPayment, CallPaymentsRepository } from '../../repositories/call-payments.js';
import { eachLimited } from './concurrency.js';
import { fundedMinutes, type HoldService } from './holds.js';

/** A held call after a pass: its payment, its holds' authorized total and its billed minutes. */
export interface FundingInput {
  payment: CallPayment;
  authorized: number;
  billed: number;
  /** The highest minute of the call applied in this pass (`CallFunding.throughMinute`). */
  throughMinute: number;
}

export interface MinuteFundingDeps {
  payments: CallPaymentsRepository;
  holds: HoldService;
  funding: MongoFundingStore;
  log: Logger;
  extendAtMinutes: number;
  now: () => Date;
}

/**
 * Keeps holds ahead of use: extends the hold of each call with few paid minutes left (Stripe,
 * `concurrency` at a time, only those), then publishes every call's minutes left in one command
 * to `payments` and one to `call_funding` (the signal tier's warnings and `insufficient_funds` end).
 */
export class MinuteFunding {
  constructor(private readonly deps: MinuteFundingDeps) {}

  async fund(inputs: FundingInput[], concurrency: number): Promise<void> {
    const results: Array<{ payment: CallPayment; left: number; exhausted: boolean; throughMinute: number }> = [];
    await eachLimited(inputs, concurrency, async (input) => {
      results.push({ payment: input.payment, throughMinute: input.throughMinute, ...(await this.extendIfDue(input)) });
    });
    const now = this.deps.now();
    await this.deps.payments.updateMany(results.map(({ payment, left, exhausted }) => ({
      id: payment.id, set: { paid_minutes_left: left, exhausted, updated_at: now },
    })));
    const fundings: CallFunding[] = results.map(({ payment, left, exhausted, throughMinute }) => ({ callId: payment.call_id, paidMinutesLeft: left, exhausted, throughMinute, updatedAt: now }));
    await this.deps.funding.setMany(fundings);
  }

  private async extendIfDue({ payment, authorized, billed }: FundingInput): Promise<{ left: number; exhausted: boolean }> {
    let exhausted = payment.exhausted;
    if (!exhausted && fundedMinutes(authorized, payment.rate_minor) - billed <= this.deps.extendAtMinutes) {
      try {
        if (await this.deps.holds.extend(payment)) authorized = await this.deps.holds.authorized(payment.id);
        else exhausted = true;
      } catch (err) {
        this.deps.log.warn({ err, call: payment.call_id }, 'hold extension failed; retried at the next minute');
      }
    }
    return { left: Math.max(0, fundedMinutes(authorized, payment.rate_minor) - billed), exhausted };
  }
}
