import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import type { Config } from '../../../config/index.js';
import { AppError } from '../../../shared/errors/index.js';

export type StripeSettings = Config['payments']['stripe'];

/**
 * The Stripe client, or why there is none. Built once at start-up; with no secret key the
 * product runs without payments (free calls work, paid operations refuse with `paymentsNotConfigured`).
 */
export type StripeGateway =
  | { readonly configured: true; readonly stripe: Stripe }
  | { readonly configured: false; readonly reason: string };

/** The transport options of `new Stripe(...)` for a base URL like `http://127.0.0.1:12111`. */
export function stripeTransport(apiBase: string | undefined): { host?: string; port?: number; protocol?: 'http' | 'https' } {
  if (!apiBase) return {};
  const url = new URL(apiBase);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

/**
 * Builds the official client over HTTP(S) to `apiBase` (stripe-mock in tests), with a bounded
 * per-request timeout and a bounded number of automatic retries (each retry reuses the
 * request's idempotency key, so a retried mutation never applies twice).
 */
export function createStripeGateway(settings: StripeSettings): StripeGateway {
  if (!settings.secretKey) return { configured: false, reason: 'STRIPE_SECRET_KEY is not set' };
  const stripe = new Stripe(settings.secretKey, {
    ...stripeTransport(settings.apiBase),
    timeout: settings.timeoutMs,
    maxNetworkRetries: settings.maxNetworkRetries,
    telemetry: false,
    typescript: true,
    appInfo: { name: 'vidivo' },
  });
  return { configured: true, stripe };
}

/** The error every paid operation raises when the server has no Stripe key. */
export function paymentsNotConfigured(): AppError {
  return new AppError('service_unavailable', {
    message: 'Payments are not configured on this server; only free calls are available.',
    details: { payments: 'not_configured' },
  });
}

/** The client, or throws `paymentsNotConfigured()`. */
export function requireStripe(gateway: StripeGateway): Stripe {
  if (!gateway.configured) throw paymentsNotConfigured();
  return gateway.stripe;
}

/**
 * A Stripe idempotency key derived from one of ours: the same (scope, key, step) always gives
 * the same Stripe key, so replaying a request (ours retried by the client, or a durable retry
 * after a restart) never creates a second object. `scope` is the owner of our key (user id)
 * because our keys are unique per user only; `step` names the Stripe call within one operation
 * (e.g. `hold`, `capture`, `transfer`).
 */
export function stripeIdempotencyKey(scope: string, key: string, step: string): string {
  const digest = createHash('sha256').update(`${scope}\u0000${key}\u0000${step}`).digest('base64url');
  return `vidivo_${step.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32)}_${digest}`;
}

interface StripeErrorLike {
  type?: string;
  statusCode?: number;
  code?: string;
  decline_code?: string;
  message?: string;
  param?: string;
}

function isStripeError(err: unknown): err is StripeErrorLike {
  return err instanceof Stripe.errors.StripeError;
}

/**
 * Maps a failure of a Stripe call to the product's error codes: card declines and refused
 * requests → 402 `stripe_error` (with Stripe's `code`/`decline_code`); Stripe unreachable, slow,
 * rate-limited, failing or refusing our key → 503 `service_unavailable`; an idempotency-key
 * mismatch → 409 `conflict`. Anything that is not a Stripe error is returned unchanged.
 */
export function fromStripeError(err: unknown): unknown {
  if (err instanceof AppError || !isStripeError(err)) return err;
  switch (err.type) {
    case 'StripeCardError':
    case 'StripeInvalidRequestError': {
      const details: Record<string, string> = {};
      if (err.code) details.stripe_code = err.code;
      if (err.decline_code) details.decline_code = err.decline_code;
      if (err.param) details.param = err.param;
      const message = err.type === 'StripeCardError' && err.message ? err.message : 'Stripe refused the payment operation.';
      return new AppError('stripe_error', { message, details, cause: err });
    }
    case 'StripeIdempotencyError':
      return new AppError('conflict', { message: 'A different request already used this idempotency key with Stripe.', cause: err });
    default:
      return new AppError('service_unavailable', { message: 'The payment provider is unavailable; try again later.', details: { payments: 'unavailable' }, cause: err });
  }
}

/** Runs one Stripe call, translating its failure with `fromStripeError`. */
export async function callStripe<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw fromStripeError(err);
  }
}
