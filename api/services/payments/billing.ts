import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../../../config/index.js';
import { MongoFundingStore, MongoMinuteStore } from '../../../shared/billing/index.js';
import { MongoCallStore } from '../../../shared/calls/index.js';
import { BilledMinutesRepository } from '../../repositories/billed-minutes.js';
import { CallPaymentsRepository } from '../../repositories/call-payments.js';
import { LedgerRepository } from '../../repositories/ledger.js';
import { PaymentHoldsRepository } from '../../repositories/payment-holds.js';
import { HoldService } from './holds.js';
import { Intents } from './intents.js';
import { LedgerService } from './ledger.js';
import { MinuteApplier } from './minutes.js';
import { Reversals, type BillingReversals } from './reversals.js';
import { Settlement } from './settlement.js';
import { createStripeGateway, type StripeGateway } from './stripe-client.js';

/** Calls whose minutes, and payments whose settlement, one worker handles at once (each call's minutes in order). */
const BILLING_CONCURRENCY = 32;
/** Longest wait between two looks for new minutes, so a minute reaches the ledger well within a second. */
const MINUTES_POLL_MAX_MS = 200;

/** The money core: holds, minutes, settlement, reversals and the ledger (docs/payments.md). */
export interface Billing {
  ledger: LedgerService;
  holds: HoldService;
  minutes: MinuteApplier;
  settlement: Settlement;
  reversals: BillingReversals;
  payments: CallPaymentsRepository;
  billed: BilledMinutesRepository;
  funding: MongoFundingStore;
  /** How often a held payment is looked at while its call runs. */
  recheckMs: number;
  /** One pass of the worker: pending minutes, then due settlements and earning releases. */
  runOnce(): Promise<void>;
  /**
   * Runs the worker until stopped: minutes as soon as a batch comes full, else every
   * min(BILLING_POLL_MS, 200 ms); settlements every BILLING_POLL_MS. `stop` waits for the passes in progress.
   */
  startWorker(): { stop(): Promise<void> };
}

export interface BillingDeps {
  config: Config;
  db: Db;
  log: Logger;
  gateway?: StripeGateway;
  now?: () => Date;
}

export async function createBilling(deps: BillingDeps): Promise<Billing> {
  const { config } = deps;
  const settings = config.billing;
  const now = deps.now ?? (() => new Date());
  const log = deps.log.child({ component: 'billing' });
  const gateway = deps.gateway ?? createStripeGateway(config.payments.stripe);
  const intents = gateway.configured ? new Intents(gateway.stripe) : undefined;
  const ledgerRepo = new LedgerRepository(deps.db);
  const payments = new CallPaymentsRepository(deps.db);
  const holdsRepo = new PaymentHoldsRepository(deps.db);
  const billed = new BilledMinutesRepository(deps.db);
  const source = new MongoMinuteStore(deps.db, now);
  const funding = new MongoFundingStore(deps.db);
  await Promise.all([ledgerRepo.ensureIndexes(), payments.ensureIndexes(), holdsRepo.ensureIndexes(), billed.ensureIndexes(), source.ensureIndexes()]);
  const ledger = new LedgerService(ledgerRepo, now);
  const calls = new MongoCallStore(deps.db);
  const holdMinutes = config.payments.holdMinutes;
  const holds = new HoldService({ payments, holds: holdsRepo, funding, intents, log, holdMinutes, feeBps: config.payments.platformFeeBps, now });
  const minutes = new MinuteApplier({ source, billed, payments, calls, holds, funding, ledger, log, extendAtMinutes: settings.extendAtMinutes, now });
  const recheckMs = settings.pollMs;
  const settlement = new Settlement({
    payments, holds: holdsRepo, billed, source, calls, funding, ledger, intents, log, now,
    settleDelayMs: settings.settleDelayMs, recheckMs, retryMaxMs: settings.retryMaxMs,
    earningsHoldMs: config.payments.earningsHoldDays * 86_400_000, orphanAfterMs: Math.max(60_000, config.payments.stripe.timeoutMs * 3),
    holdAmount: (payment) => payment.rate_minor * holdMinutes,
  });
  const reversals = new Reversals({ payments, holds: holdsRepo, ledger, log });
  const runOnce = async (): Promise<void> => {
    await minutes.applyPending(settings.batch, BILLING_CONCURRENCY);
    await settlement.runDue(settings.batch, BILLING_CONCURRENCY);
  };
  return {
    ledger, holds, minutes, settlement, reversals, payments, billed, funding, recheckMs, runOnce,
    startWorker() {
      // Two loops, so that settlements (Stripe round trips) never hold up the minutes: minutes
      // again at once while batches come full, else every MINUTES_POLL_MAX_MS at most.
      const minuteLoop = loop(log, 'billing minutes pass failed', async () => {
        const fetched = await minutes.applyPending(settings.batch, BILLING_CONCURRENCY);
        return fetched >= settings.batch ? 0 : Math.min(settings.pollMs, MINUTES_POLL_MAX_MS);
      });
      const settleLoop = loop(log, 'billing settlement pass failed', async () => {
        await settlement.runDue(settings.batch, BILLING_CONCURRENCY);
        return settings.pollMs;
      });
      return {
        async stop() {
          await Promise.all([minuteLoop.stop(), settleLoop.stop()]);
        },
      };
    },
  };
}

/** Runs `pass` again after the delay it returns, until stopped; `stop` waits for the pass in progress. */
function loop(log: Logger, failure: string, pass: () => Promise<number>): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const run = (): void => {
    let delay = MINUTES_POLL_MAX_MS;
    current = pass().then((d) => { delay = d; }, (err: unknown) => log.warn({ err }, failure)).finally(() => {
      if (!stopped) timer = setTimeout(run, delay);
    });
  };
  timer = setTimeout(run, 0);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
