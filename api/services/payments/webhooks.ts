import Stripe from 'stripe';
import type { Logger } from 'pino';
import { AppError } from '../../../shared/errors/index.js';
import type { StripeEventsRepository } from '../../repositories/stripe-events.js';

/**
 * A consumer of verified Stripe events. Handlers must be idempotent and safe out of order: the
 * same event may arrive again (a retried delivery after a crash), and events about one object
 * arrive in any order (compare `event.created`, or keep state transitions monotonic).
 */
export interface StripeEventHandler {
  /** Event types handled: exact (`charge.refunded`) or a family (`transfer.*`). */
  readonly types: readonly string[];
  handle(event: Stripe.Event): Promise<void>;
}

export type WebhookOutcome = 'processed' | 'ignored' | 'duplicate' | 'in_progress';

export interface WebhookOptions {
  /** `whsec_…`; without it the endpoint answers 503. */
  secret: string | undefined;
  toleranceSec: number;
  events: StripeEventsRepository;
  log: Logger;
  /** How long one delivery owns an event before another may take it over. */
  leaseMs?: number;
  now?: () => Date;
}

function matches(pattern: string, type: string): boolean {
  return pattern.endsWith('.*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

function objectId(event: Stripe.Event): string | null {
  const object = event.data.object as { id?: unknown };
  return typeof object.id === 'string' ? object.id : null;
}

function wellFormed(value: unknown): value is Stripe.Event {
  const e = value as Partial<Stripe.Event> | null;
  return typeof e === 'object' && e !== null
    && typeof e.id === 'string' && /^evt_[A-Za-z0-9_]{1,250}$/.test(e.id)
    && typeof e.type === 'string' && e.type.length > 0 && e.type.length <= 200
    && typeof e.created === 'number' && Number.isInteger(e.created)
    && typeof e.data === 'object' && e.data !== null && typeof e.data.object === 'object' && e.data.object !== null;
}

/**
 * Verifies and dispatches Stripe webhook deliveries: the signature is checked by the `stripe`
 * library over the exact bytes received (bad or stale signature → 400), each event id is
 * processed at most once at a time and never again once done (`stripe_events`), and the
 * registered handlers for its type run in registration order. A handler failure releases the
 * event and surfaces as 503 so Stripe delivers it again.
 */
export class StripeWebhooks {
  private readonly handlers: StripeEventHandler[] = [];
  private readonly leaseMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: WebhookOptions) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.now = options.now ?? (() => new Date());
  }

  /** Adds a handler (billing's refund/dispute reversal, payouts, Connect accounts, …). */
  register(handler: StripeEventHandler): void {
    this.handlers.push(handler);
  }

  /** The event in `payload` if `signature` (the `Stripe-Signature` header) is valid for it. */
  verify(payload: Buffer | undefined, signature: string): Stripe.Event {
    if (!this.options.secret) {
      throw new AppError('service_unavailable', { message: 'Stripe webhooks are not configured on this server.', details: { payments: 'webhooks_not_configured' } });
    }
    if (!payload || payload.length === 0) throw new AppError('validation_error', { message: 'The webhook body is empty.', details: { body: 'required' } });
    if (!signature) throw new AppError('validation_error', { message: 'Missing Stripe-Signature header.', details: { 'stripe-signature': 'required' } });
    let event: unknown;
    try {
      event = Stripe.webhooks.constructEvent(payload, signature, this.options.secret, this.options.toleranceSec);
    } catch (err) {
      if (err instanceof Stripe.errors.StripeSignatureVerificationError) {
        throw new AppError('validation_error', { message: 'Invalid Stripe webhook signature.', details: { 'stripe-signature': 'invalid or expired' }, cause: err });
      }
      throw new AppError('validation_error', { message: 'The webhook body is not a valid event.', details: { body: 'must be a Stripe event' }, cause: err });
    }
    if (!wellFormed(event)) throw new AppError('validation_error', { message: 'The webhook body is not a valid event.', details: { body: 'must be a Stripe event' } });
    return event;
  }

  /** Processes a verified event once; see the class comment for the failure rules. */
  async receive(event: Stripe.Event): Promise<WebhookOutcome> {
    const handlers = this.handlers.filter((h) => h.types.some((t) => matches(t, event.type)));
    const claim = await this.options.events.claim(
      { id: event.id, type: event.type, created: event.created, object_id: objectId(event), livemode: event.livemode === true },
      this.now(), this.leaseMs,
    );
    if (!claim.claimed) return claim.existing.status === 'processing' ? 'in_progress' : 'duplicate';
    try {
      for (const handler of handlers) await handler.handle(event);
    } catch (err) {
      await this.options.events.release(event.id).catch(() => undefined);
      this.options.log.warn({ err, event: event.id, type: event.type }, 'stripe event handler failed');
      if (err instanceof AppError && err.code === 'service_unavailable') throw err;
      throw new AppError('service_unavailable', { message: 'The event could not be processed now; Stripe will deliver it again.', cause: err });
    }
    const outcome = handlers.length > 0 ? 'processed' : 'ignored';
    await this.options.events.finish(event.id, outcome, this.now());
    return outcome;
  }
}
