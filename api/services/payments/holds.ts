import type { Logger } from 'pino';
import { MongoFundingStore } from '../../../shared/billing/index.js';
import { AppError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import type { CallPayment, CallPaymentsRepository } from '../../repositories/call-payments.js';
import { authorizedByIntent, type PaymentHoldsRepository } from '../../repositories/payment-holds.js';
import { isFinalRefusal, type Intents } from './intents.js';
import { paymentsNotConfigured } from './stripe-client.js';

export interface HoldRequest {
  callId: string;
  guestId: string;
  hostId: string;
  rate: { amount: number; currency: string };
  paymentMethod: string;
  /** The Stripe customer of a saved card. */
  customer?: string;
}

export interface HoldsDeps {
  payments: CallPaymentsRepository;
  holds: PaymentHoldsRepository;
  funding: MongoFundingStore;
  /** Undefined when Stripe is not configured. */
  intents: Intents | undefined;
  log: Logger;
  holdMinutes: number;
  feeBps: number;
  now: () => Date;
}

/** Paid minutes the holds cover: floor(authorized / rate). */
export function fundedMinutes(authorized: number, rate: number): number {
  return rate > 0 ? Math.floor(authorized / rate) : 0;
}

/**
 * Securing a call's money before its minutes are used: the initial hold at join and its
 * extensions ahead of use. Every step is recorded once (payment_holds) and made with a derived
 * Stripe idempotency key, so a retried step never authorizes twice.
 */
export class HoldService {
  constructor(private readonly deps: HoldsDeps) {}

  /**
   * Places the hold for BILLING_HOLD_MINUTES × rate before the call exists. The payment
   * document is written first (`placing`), so a crash after Stripe answered leaves a trace the
   * sweep releases. Throws 503 without Stripe, 402 `stripe_error` when the card is refused,
   * 503 when Stripe cannot be reached.
   */
  async place(request: HoldRequest): Promise<CallPayment> {
    const { intents } = this.deps;
    if (!intents) throw paymentsNotConfigured();
    const now = this.deps.now();
    const amount = request.rate.amount * this.deps.holdMinutes;
    const payment: CallPayment = {
      id: newId(), call_id: request.callId, guest_id: request.guestId, host_id: request.hostId, currency: request.rate.currency,
      rate_minor: request.rate.amount, fee_bps: this.deps.feeBps, payment_method: request.paymentMethod, customer: request.customer ?? null, state: 'placing', exhausted: false,
      paid_minutes_left: 0, billed_minutes: 0, billed_minor: 0, net_minor: 0, captured_minor: 0, written_off_minor: 0, intents: [],
      attempts: 0, next_attempt_at: new Date(now.getTime() + 60_000), last_error: null, created_at: now, updated_at: now, settled_at: null, released_at: null,
    };
    await this.deps.payments.insert(payment);
    let pi: string;
    try {
      pi = await intents.authorize({ paymentId: payment.id, k: 0, amount, currency: payment.currency, paymentMethod: request.paymentMethod, callId: request.callId, ...(request.customer ? { customer: request.customer } : {}) });
    } catch (err) {
      if (isFinalRefusal(err)) {
        await this.deps.payments.update(payment.id, { state: 'failed', last_error: (err as AppError).message, updated_at: this.deps.now() }, ['placing']);
      }
      // Not final (Stripe unreachable): the payment stays `placing`; the sweep cancels whatever Stripe may have made.
      throw err;
    }
    await this.deps.holds.record({ payment_id: payment.id, k: 0, pi, kind: 'initial', amount_minor: amount, created_at: this.deps.now() });
    const left = fundedMinutes(amount, payment.rate_minor);
    await this.deps.funding.set({ callId: request.callId, paidMinutesLeft: left, exhausted: false, throughMinute: 0, updatedAt: this.deps.now() });
    return { ...payment, paid_minutes_left: left };
  }

  /** The call was created: the payment now belongs to it (held, checked by the sweep). */
  async attached(payment: Pick<CallPayment, 'id' | 'paid_minutes_left'>, recheckMs: number): Promise<void> {
    const now = this.deps.now();
    await this.deps.payments.update(payment.id, { state: 'held', paid_minutes_left: payment.paid_minutes_left, next_attempt_at: new Date(now.getTime() + recheckMs), updated_at: now }, ['placing']);
  }

  /** Authorized total of a payment's holds. */
  async authorized(paymentId: string): Promise<number> {
    return (await this.deps.holds.of(paymentId)).reduce((sum, h) => sum + h.amount_minor, 0);
  }

  /**
   * Extends the authorization by BILLING_HOLD_MINUTES × rate: an incremental authorization of
   * the newest intent, else a further intent on the same payment method. Returns false when
   * both were refused (the hold is exhausted); throws when Stripe could not be reached (retry
   * at the next minute).
   */
  async extend(payment: CallPayment): Promise<boolean> {
    const intents = this.deps.intents;
    if (!intents) return false;
    const holds = await this.deps.holds.of(payment.id);
    const k = holds.length;
    const amount = payment.rate_minor * this.deps.holdMinutes;
    const byIntent = authorizedByIntent(holds);
    const newest = byIntent[byIntent.length - 1];
    const log = this.deps.log.child({ call: payment.call_id, payment: payment.id, k });
    if (newest) {
      try {
        await intents.increment({ paymentId: payment.id, k, pi: newest.pi, newTotal: newest.amount_minor + amount });
        await this.deps.holds.record({ payment_id: payment.id, k, pi: newest.pi, kind: 'increment', amount_minor: amount, created_at: this.deps.now() });
        log.info({ amount }, 'hold extended (incremental authorization)');
        return true;
      } catch (err) {
        if (!isFinalRefusal(err)) throw err;
        log.info({ err: (err as Error).message }, 'incremental authorization refused; trying a further hold');
      }
    }
    try {
      const pi = await intents.authorize({ paymentId: payment.id, k, amount, currency: payment.currency, paymentMethod: payment.payment_method, callId: payment.call_id, ...(payment.customer ? { customer: payment.customer } : {}) });
      await this.deps.holds.record({ payment_id: payment.id, k, pi, kind: 'additional', amount_minor: amount, created_at: this.deps.now() });
      log.info({ amount }, 'hold extended (further payment intent)');
      return true;
    } catch (err) {
      if (!isFinalRefusal(err)) throw err;
      log.warn({ err: (err as Error).message }, 'hold cannot be extended');
      return false;
    }
  }
}
