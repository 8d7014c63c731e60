import type { Logger } from 'pino';
import { AppError } from '../../../shared/errors/index.js';
import type { CallPaymentsRepository } from '../../repositories/call-payments.js';
import type { PaymentHoldsRepository } from '../../repositories/payment-holds.js';
import { splitIncrement } from './accounts.js';
import type { LedgerService } from './ledger.js';
import { reversalPosting } from './postings.js';

/** Money taken back from a settled call's capture, as a Stripe webhook reports it. */
export interface ReversalInput {
  /** The PaymentIntent the refunded or disputed charge belongs to (`charge.payment_intent`). */
  paymentIntentId: string;
  /** `re_…` for a refund, `dp_…` for a dispute: the ledger key, so a redelivered event is a no-op. */
  objectId: string;
  /** Amount of this refund or dispute, minor units. */
  amountMinor: number;
  currency: string;
}

export type ReversalResult =
  /** Posted (or already posted: `applied: false`). */
  | { outcome: 'posted'; applied: boolean; callId: string }
  /** Not one of our call payments (e.g. a charge made outside the product): nothing to do. */
  | { outcome: 'unknown_payment' }
  /** The payment is not settled yet: retry the event later (throwing makes the webhook answer 503). */
  | { outcome: 'not_settled' };

/**
 * What the Stripe webhook handlers call (docs/payments.md, "Refunds and disputes"):
 * - `charge.refunded` → `refund`, once per refund object (`re_…`) in `charge.refunds`;
 * - `charge.dispute.created` (funds withdrawn) → `dispute`;
 * - `charge.dispute.closed` with status `won` (funds reinstated) → `disputeWon`.
 * All are idempotent by the Stripe object id; `not_settled` asks for a later redelivery.
 */
export interface BillingReversals {
  refund(input: ReversalInput): Promise<ReversalResult>;
  dispute(input: ReversalInput): Promise<ReversalResult>;
  disputeWon(input: Omit<ReversalInput, 'amountMinor'>): Promise<ReversalResult>;
}

export class Reversals implements BillingReversals {
  constructor(private readonly deps: { payments: CallPaymentsRepository; holds: PaymentHoldsRepository; ledger: LedgerService; log: Logger }) {}

  private async paymentOf(pi: string) {
    const paymentId = await this.deps.holds.paymentOf(pi);
    return paymentId ? this.deps.payments.get(paymentId) : null;
  }

  /** Gross already reversed on the call (refunds and disputes, less disputes won). */
  private async reversedSoFar(callId: string): Promise<number> {
    const { items } = await this.deps.ledger.entries({ callId, kinds: ['refund', 'dispute', 'dispute_won'], skip: 0, limit: 1000 });
    let total = 0;
    for (const tx of items) {
      const clearing = tx.postings.find((p) => p.account === 'stripe:clearing')?.amount_minor ?? 0;
      total -= clearing;
    }
    return total;
  }

  private async reverse(kind: 'refund' | 'dispute', input: ReversalInput): Promise<ReversalResult> {
    const payment = await this.paymentOf(input.paymentIntentId);
    if (!payment) return { outcome: 'unknown_payment' };
    if (payment.state !== 'settled') return { outcome: 'not_settled' };
    if (input.currency.toUpperCase() !== payment.currency) {
      throw new AppError('validation_error', { message: 'Currency does not match the payment.', details: { currency: payment.currency } });
    }
    const id = `${kind}:${input.objectId}`;
    const existing = await this.deps.ledger.get(id);
    if (existing) return { outcome: 'posted', applied: false, callId: payment.call_id };
    const previous = await this.reversedSoFar(payment.call_id);
    const amount = Math.min(input.amountMinor, payment.captured_minor - previous);
    if (amount <= 0) return { outcome: 'posted', applied: false, callId: payment.call_id };
    const total = { gross: payment.captured_minor, ...this.capturedSplit(payment) };
    const split = splitIncrement(previous, amount, total);
    const posting = reversalPosting({ id, kind, callId: payment.call_id, hostId: payment.host_id, guestId: payment.guest_id, currency: payment.currency, split, refs: { payment_id: payment.id } });
    if (!posting) return { outcome: 'posted', applied: false, callId: payment.call_id };
    const result = await this.deps.ledger.post(posting);
    this.deps.log.info({ call: payment.call_id, kind, amount, applied: result.applied }, 'capture reversed');
    return { outcome: 'posted', applied: result.applied, callId: payment.call_id };
  }

  /** Fee and host share of what was captured (a capture short of the billed amount shrinks both in proportion). */
  private capturedSplit(payment: { billed_minor: number; net_minor: number; captured_minor: number }): { fee: number; net: number } {
    if (payment.billed_minor === 0) return { fee: 0, net: 0 };
    const net = Number((BigInt(payment.net_minor) * BigInt(payment.captured_minor)) / BigInt(payment.billed_minor));
    return { fee: payment.captured_minor - net, net };
  }

  refund(input: ReversalInput): Promise<ReversalResult> {
    return this.reverse('refund', input);
  }

  dispute(input: ReversalInput): Promise<ReversalResult> {
    return this.reverse('dispute', input);
  }

  async disputeWon(input: Omit<ReversalInput, 'amountMinor'>): Promise<ReversalResult> {
    const payment = await this.paymentOf(input.paymentIntentId);
    if (!payment) return { outcome: 'unknown_payment' };
    const lost = await this.deps.ledger.get(`dispute:${input.objectId}`);
    // A `won` before its `created` was processed: nothing to reinstate yet; retry later.
    if (!lost) return { outcome: 'not_settled' };
    const amountOf = (account: string) => lost.postings.find((p) => p.account === account)?.amount_minor ?? 0;
    const split = { gross: -amountOf('stripe:clearing'), fee: amountOf('platform:fees'), net: amountOf(`host:${payment.host_id}:available`) };
    const posting = reversalPosting({ id: `dispute_won:${input.objectId}`, kind: 'dispute_won', callId: payment.call_id, hostId: payment.host_id, guestId: payment.guest_id, currency: payment.currency, split, refs: { payment_id: payment.id } });
    if (!posting) return { outcome: 'posted', applied: false, callId: payment.call_id };
    const result = await this.deps.ledger.post(posting);
    return { outcome: 'posted', applied: result.applied, callId: payment.call_id };
  }
}
