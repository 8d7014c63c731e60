import type Stripe from 'stripe';
import { AppError } from '../../../shared/errors/index.js';
import { callStripe, stripeIdempotencyKey } from './stripe-client.js';

/**
 * The Stripe calls of billing, each with a Stripe idempotency key derived from the payment and
 * the step, so that any retry (ours, the library's, or after a restart) names the same object.
 * Failures come out as AppError: `stripe_error` (the card or Stripe refused: final) or
 * `service_unavailable` (Stripe unreachable, slow or failing: retry later).
 */
export class Intents {
  constructor(private readonly stripe: Stripe) {}

  /** A PaymentIntent with manual capture for `amount`, confirmed at once; returns its id. */
  async authorize(input: { paymentId: string; k: number; amount: number; currency: string; paymentMethod: string; callId: string; customer?: string }): Promise<string> {
    const pi = await callStripe(() => this.stripe.paymentIntents.create({
      amount: input.amount, currency: input.currency.toLowerCase(), payment_method: input.paymentMethod,
      ...(input.customer ? { customer: input.customer } : {}),
      confirm: true, capture_method: 'manual', automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
      payment_method_options: { card: { request_incremental_authorization: 'if_available' } },
      metadata: { call_id: input.callId, payment_id: input.paymentId, hold: String(input.k) },
    }, { idempotencyKey: stripeIdempotencyKey(input.paymentId, `hold-${input.k}`, 'authorize') }));
    // A card that needs the cardholder (3-D Secure) cannot be held without a browser: refused.
    if (pi.status === 'requires_action' || pi.status === 'canceled') {
      throw new AppError('stripe_error', { message: 'The card needs authentication and cannot be held for a call.', details: { stripe_status: pi.status } });
    }
    return pi.id;
  }

  /** Raises the authorization of `pi` to `newTotal` (incremental authorization). */
  async increment(input: { paymentId: string; k: number; pi: string; newTotal: number }): Promise<void> {
    await callStripe(() => this.stripe.paymentIntents.incrementAuthorization(input.pi, { amount: input.newTotal },
      { idempotencyKey: stripeIdempotencyKey(input.paymentId, `hold-${input.k}`, 'increment') }));
  }

  /** Captures `amount` of `pi` (the rest of its authorization is released by Stripe). */
  async capture(paymentId: string, pi: string, amount: number): Promise<void> {
    await callStripe(() => this.stripe.paymentIntents.capture(pi, { amount_to_capture: amount },
      { idempotencyKey: stripeIdempotencyKey(paymentId, pi, 'capture') }));
  }

  /** Cancels `pi`, releasing its whole authorization. */
  async cancel(paymentId: string, pi: string): Promise<void> {
    await callStripe(() => this.stripe.paymentIntents.cancel(pi, {}, { idempotencyKey: stripeIdempotencyKey(paymentId, pi, 'cancel') }));
  }

  /** The intent's status, to tell an already captured or canceled intent from a refusal. */
  async status(pi: string): Promise<string> {
    return (await callStripe(() => this.stripe.paymentIntents.retrieve(pi))).status;
  }
}

/** True for a failure that retrying will not fix. */
export function isFinalRefusal(err: unknown): boolean {
  return err instanceof AppError && (err.code === 'stripe_error' || err.code === 'conflict');
}
