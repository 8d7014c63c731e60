import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../../../config/index.js';
import { StripeEventsRepository } from '../../repositories/stripe-events.js';
import { createStripeGateway, type StripeGateway } from './stripe-client.js';
import { StripeWebhooks } from './webhooks.js';

/** Stripe access and the payment services the routes use; built once by api/main.ts. */
export interface PaymentServices {
  gateway: StripeGateway;
  /** Register further event handlers here (billing's refund/dispute reversal). */
  webhooks: StripeWebhooks;
}

export interface PaymentServicesDeps {
  config: Config;
  db: Db;
  log: Logger;
  /** Override the client (tests of a misconfigured server); default from `config.payments.stripe`. */
  gateway?: StripeGateway;
}

/** Builds the payment services and creates their indexes. */
export async function createPaymentServices(deps: PaymentServicesDeps): Promise<PaymentServices> {
  const settings = deps.config.payments;
  const log = deps.log.child({ component: 'payments' });
  const gateway = deps.gateway ?? createStripeGateway(settings.stripe);
  if (!gateway.configured) log.warn({ reason: gateway.reason }, 'payments not configured: paid links are refused, free calls work');
  const events = new StripeEventsRepository(deps.db);
  await events.ensureIndexes();
  const webhooks = new StripeWebhooks({ secret: settings.stripe.webhookSecret, toleranceSec: settings.stripe.webhookToleranceSec, events, log });
  return { gateway, webhooks };
}
