import type Stripe from 'stripe';
import { AppError } from '../../../shared/errors/index.js';
import { MAX_SAVED_METHODS, type PaymentMethodsRepository, type SavedPaymentMethod } from '../../repositories/payment-methods.js';
import type { StripeCustomersRepository } from '../../repositories/stripe-customers.js';
import { callStripe, requireStripe, stripeIdempotencyKey, type StripeGateway } from './stripe-client.js';

export interface SetupIntentView {
  id: string;
  /** Handed to Stripe.js (`confirmCardSetup`) on the client; never logged. */
  client_secret: string;
  status: string;
  customer_id: string;
}

export interface PaymentMethodView {
  id: string;
  brand: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
  created_at: string;
}

export function paymentMethodView(m: SavedPaymentMethod): PaymentMethodView {
  return { id: m.id, brand: m.brand, last4: m.last4, exp_month: m.exp_month, exp_year: m.exp_year, created_at: m.created_at.toISOString() };
}

/**
 * Saved cards: a Stripe Customer per principal (user or guest session), a SetupIntent for the
 * client to confirm with Stripe.js, and our record of which PaymentMethod belongs to whom (the
 * list is served from it; Stripe is asked only when something changes). Billing charges a saved
 * card through `forCharge`.
 */
export class PaymentMethodsService {
  constructor(private readonly deps: {
    gateway: StripeGateway;
    customers: StripeCustomersRepository;
    methods: PaymentMethodsRepository;
    now?: () => Date;
  }) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** The principal's Stripe Customer id, created on first use (one per principal, even when raced). */
  async ensureCustomer(userId: string): Promise<string> {
    const existing = await this.deps.customers.find(userId);
    if (existing) return existing.customer_id;
    const stripe = requireStripe(this.deps.gateway);
    const customer = await callStripe(() => stripe.customers.create(
      { metadata: { vidivo_user_id: userId } },
      { idempotencyKey: stripeIdempotencyKey(userId, 'customer', 'customer') },
    ));
    const kept = await this.deps.customers.insertOrGet({ user_id: userId, customer_id: customer.id, created_at: this.now() });
    return kept.customer_id;
  }

  /** A SetupIntent for saving a card off-session; `key` is the request's X-Idempotency-Key. */
  async createSetupIntent(userId: string, key: string | undefined): Promise<SetupIntentView> {
    const stripe = requireStripe(this.deps.gateway);
    const customer = await this.ensureCustomer(userId);
    const intent = await callStripe(() => stripe.setupIntents.create(
      { customer, usage: 'off_session', metadata: { vidivo_user_id: userId } },
      key ? { idempotencyKey: stripeIdempotencyKey(userId, key, 'setup_intent') } : {},
    ));
    if (!intent.client_secret) throw new AppError('service_unavailable', { message: 'Stripe returned a SetupIntent without a client secret.' });
    return { id: intent.id, client_secret: intent.client_secret, status: intent.status, customer_id: customer };
  }

  /**
   * Attaches a PaymentMethod (from Stripe.js, or a test id like `pm_card_visa`) to the
   * principal's customer and records it. A card attached to someone else's customer is refused
   * by Stripe (402 `stripe_error`); more than MAX_SAVED_METHODS is 409 `conflict`.
   */
  async attach(userId: string, paymentMethodId: string): Promise<PaymentMethodView> {
    const stripe = requireStripe(this.deps.gateway);
    const known = await this.deps.methods.find(paymentMethodId);
    if (known && known.user_id !== userId) throw new AppError('conflict', { message: 'This payment method belongs to another account.' });
    if (!known && (await this.deps.methods.countByUser(userId)) >= MAX_SAVED_METHODS) {
      throw new AppError('conflict', { message: `At most ${MAX_SAVED_METHODS} payment methods can be saved; delete one first.`, details: { limit: String(MAX_SAVED_METHODS) } });
    }
    const customer = await this.ensureCustomer(userId);
    const pm: Stripe.PaymentMethod = await callStripe(() => stripe.paymentMethods.attach(paymentMethodId, { customer }));
    if (pm.type !== 'card' || !pm.card) throw new AppError('validation_error', { message: 'Only card payment methods can be saved.', details: { payment_method_id: 'must be a card' } });
    const saved = await this.deps.methods.upsert({
      id: pm.id, user_id: userId, customer_id: customer,
      brand: pm.card.brand ?? null, last4: pm.card.last4 ?? null, exp_month: pm.card.exp_month ?? null, exp_year: pm.card.exp_year ?? null,
      created_at: this.now(),
    });
    return paymentMethodView(saved);
  }

  async list(userId: string): Promise<PaymentMethodView[]> {
    return (await this.deps.methods.listByUser(userId)).map(paymentMethodView);
  }

  /** Detaches the card at Stripe and forgets it; 404 when it is not this principal's. */
  async remove(userId: string, paymentMethodId: string): Promise<void> {
    const known = await this.deps.methods.find(paymentMethodId);
    if (!known || known.user_id !== userId) throw new AppError('not_found', { message: 'No such saved payment method.' });
    const stripe = requireStripe(this.deps.gateway);
    await callStripe(() => stripe.paymentMethods.detach(paymentMethodId));
    await this.deps.methods.delete(paymentMethodId, userId);
  }

  /**
   * What a PaymentIntent for `userId` needs to charge `paymentMethodId`: a saved card comes with
   * its customer; any other id (fresh from Stripe.js) is charged without one.
   */
  async forCharge(userId: string, paymentMethodId: string): Promise<{ payment_method: string; customer?: string }> {
    const known = await this.deps.methods.find(paymentMethodId);
    if (known && known.user_id !== userId) throw new AppError('forbidden', { message: 'This payment method belongs to another account.' });
    return known ? { payment_method: known.id, customer: known.customer_id } : { payment_method: paymentMethodId };
  }
}
