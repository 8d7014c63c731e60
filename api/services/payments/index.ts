import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../../../config/index.js';
import { ConnectAccountsRepository } from '../../repositories/connect-accounts.js';
import { LedgerReportsRepository } from '../../repositories/ledger-reports.js';
import { LedgerRepository } from '../../repositories/ledger.js';
import { PayoutsRepository } from '../../repositories/payouts.js';
import { PaymentMethodsRepository } from '../../repositories/payment-methods.js';
import { StripeCustomersRepository } from '../../repositories/stripe-customers.js';
import { StripeEventsRepository } from '../../repositories/stripe-events.js';
import { ConnectService } from './connect.js';
import { EarningsService } from './earnings.js';
import { PaymentHistoryService } from './history.js';
import { LedgerService } from './ledger.js';
import { PayoutsService } from './payouts.js';
import { PaymentMethodsService } from './methods.js';
import { createStripeGateway, type StripeGateway } from './stripe-client.js';
import { StripeWebhooks } from './webhooks.js';

/** Stripe access and the payment services the routes use; built once by api/main.ts. */
export interface PaymentServices {
  gateway: StripeGateway;
  /** Register further event handlers here (billing's refund/dispute reversal). */
  webhooks: StripeWebhooks;
  /** Saved cards; billing resolves a join's payment method with `forCharge`. */
  methods: PaymentMethodsService;
  connect: ConnectService;
  ledger: LedgerService;
  history: PaymentHistoryService;
  earnings: EarningsService;
  payouts: PayoutsService;
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
  const customers = new StripeCustomersRepository(deps.db);
  const savedMethods = new PaymentMethodsRepository(deps.db);
  const accounts = new ConnectAccountsRepository(deps.db);
  const ledgerRepo = new LedgerRepository(deps.db);
  const payoutsRepo = new PayoutsRepository(deps.db);
  await Promise.all([
    events.ensureIndexes(), customers.ensureIndexes(), savedMethods.ensureIndexes(), accounts.ensureIndexes(), ledgerRepo.ensureIndexes(), payoutsRepo.ensureIndexes(),
  ]);
  const ledger = new LedgerService(ledgerRepo);
  const webhooks = new StripeWebhooks({ secret: settings.stripe.webhookSecret, toleranceSec: settings.stripe.webhookToleranceSec, events, log });
  const methods = new PaymentMethodsService({ gateway, customers, methods: savedMethods });
  const returnUrl = settings.connect.returnUrl ?? `${deps.config.api.publicUrl}/v1/payments/connect/status`;
  const connect = new ConnectService({
    gateway, accounts, country: settings.connect.country, returnUrl, refreshUrl: settings.connect.refreshUrl ?? returnUrl, log,
  });
  const payouts = new PayoutsService({ gateway, payouts: payoutsRepo, ledger, connect, minMinor: settings.payoutMinMinor, log });
  webhooks.register(connect.webhookHandler());
  webhooks.register(payouts.webhookHandler());
  return {
    gateway, webhooks, methods, connect, ledger, payouts,
    history: new PaymentHistoryService(ledger), earnings: new EarningsService(ledger, new LedgerReportsRepository(deps.db)),
  };
}
