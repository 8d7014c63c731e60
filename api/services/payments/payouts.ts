import type Stripe from 'stripe';
import type { Logger } from 'pino';
import { AppError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import type { Payout, PayoutsRepository } from '../../repositories/payouts.js';
import { Accounts } from './accounts.js';
import type { ConnectService } from './connect.js';
import type { LedgerService } from './ledger.js';
import { payoutFailedPosting, payoutPaidPosting, payoutRequestedPosting, type PayoutEvent } from './postings.js';
import { fromStripeError, requireStripe, stripeIdempotencyKey, type StripeGateway } from './stripe-client.js';
import type { StripeEventHandler } from './webhooks.js';

export interface PayoutView {
  id: string;
  amount_minor: number;
  currency: string;
  status: Payout['status'];
  transfer_id: string | null;
  failure_code: string | null;
  created_at: string;
  updated_at: string;
}

export function payoutView(p: Payout): PayoutView {
  return {
    id: p.id, amount_minor: p.amount_minor, currency: p.currency, status: p.status, transfer_id: p.transfer_id,
    failure_code: p.failure_code, created_at: p.created_at.toISOString(), updated_at: p.updated_at.toISOString(),
  };
}

const LOCK_TTL_MS = 30_000;

/**
 * Payouts of a host's available earnings to their Connect account as a Stripe Transfer.
 * Exactly once: a payout is keyed by (host, X-Idempotency-Key); its ledger move (available →
 * in transit) is posted before Stripe is called, under a per-host lock so two payouts cannot
 * spend one balance; the Transfer carries a Stripe idempotency key derived from the payout id,
 * so a retry after a timeout or a crash resumes the same payout and never transfers twice.
 * A refused transfer returns the amount to available; an unreachable Stripe leaves it pending
 * for the retry (or the `transfer.created` webhook) to finish.
 */
export class PayoutsService {
  constructor(private readonly deps: {
    gateway: StripeGateway;
    payouts: PayoutsRepository;
    ledger: LedgerService;
    connect: ConnectService;
    minMinor: number;
    log: Logger;
    now?: () => Date;
  }) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async request(hostId: string, requestKey: string, input: { currency: string; amount_minor?: number }): Promise<Payout> {
    const existing = await this.deps.payouts.findByRequest(hostId, requestKey);
    if (existing) return this.complete(existing);
    requireStripe(this.deps.gateway);
    const account = await this.deps.connect.payableAccount(hostId);
    if (!account) {
      throw new AppError('conflict', { message: 'Finish Stripe Connect onboarding before requesting a payout.', details: { connect: 'payouts_not_enabled' } });
    }
    const lockKey = `${hostId}:${input.currency}`;
    if (!(await this.deps.payouts.lock(lockKey, this.now(), LOCK_TTL_MS))) {
      throw new AppError('conflict', { message: 'Another payout is being requested; retry shortly.', details: { payout: 'in_progress' }, headers: { 'Retry-After': '1' } });
    }
    let payout: Payout;
    try {
      const available = -(await this.deps.ledger.balance(Accounts.hostAvailable(hostId), input.currency));
      const amount = input.amount_minor ?? available;
      if (amount < this.deps.minMinor) {
        throw new AppError('validation_error', {
          message: `The smallest payout is ${this.deps.minMinor} minor units.`,
          details: { amount_minor: `must be at least ${this.deps.minMinor}`, available_minor: String(Math.max(available, 0)) },
        });
      }
      if (amount > available) {
        throw new AppError('validation_error', { message: 'The amount exceeds the available balance.', details: { amount_minor: 'exceeds the available balance', available_minor: String(Math.max(available, 0)) } });
      }
      const at = this.now();
      ({ payout } = await this.deps.payouts.insertOrGet({
        id: newId(), host_id: hostId, request_key: requestKey, account_id: account.account_id, amount_minor: amount, currency: input.currency,
        status: 'pending', transfer_id: null, failure_code: null, created_at: at, updated_at: at,
      }));
      await this.post(payoutRequestedPosting(this.event(payout)));
    } finally {
      await this.deps.payouts.unlock(lockKey).catch(() => undefined);
    }
    return this.complete(payout);
  }

  async list(hostId: string, filter: { status?: Payout['status'] }, skip: number, limit: number): Promise<{ items: Payout[]; total: number }> {
    return this.deps.payouts.list(hostId, filter, skip, limit);
  }

  /** Makes (or re-makes, idempotently) the Transfer of a pending payout. */
  private async complete(payout: Payout): Promise<Payout> {
    if (payout.status !== 'pending') return payout;
    await this.post(payoutRequestedPosting(this.event(payout)));
    const stripe = requireStripe(this.deps.gateway);
    let transfer: Stripe.Transfer;
    try {
      transfer = await stripe.transfers.create(
        { amount: payout.amount_minor, currency: payout.currency.toLowerCase(), destination: payout.account_id, metadata: { vidivo_payout_id: payout.id } },
        { idempotencyKey: stripeIdempotencyKey(payout.host_id, payout.id, 'transfer') },
      );
    } catch (err) {
      const mapped = fromStripeError(err);
      if (mapped instanceof AppError && mapped.code === 'stripe_error') {
        const code = typeof mapped.details?.['stripe_code'] === 'string' ? mapped.details['stripe_code'] : 'transfer_failed';
        const failed = await this.markFailed(payout, code);
        throw new AppError('stripe_error', { message: 'Stripe refused the payout; the amount is available again.', details: { payout_id: failed.id, failure_code: code }, cause: err });
      }
      throw mapped;
    }
    return this.markPaid(payout, transfer.id);
  }

  private event(p: Payout): PayoutEvent {
    return { payoutId: p.id, hostId: p.host_id, currency: p.currency, amount: p.amount_minor };
  }

  private async post(request: ReturnType<typeof payoutPaidPosting>): Promise<void> {
    if (request) await this.deps.ledger.post(request);
  }

  private async markPaid(payout: Payout, transferId: string): Promise<Payout> {
    await this.post(payoutPaidPosting(this.event(payout)));
    await this.deps.payouts.settle(payout.id, 'paid', { transfer_id: transferId }, this.now());
    return (await this.deps.payouts.findById(payout.id)) ?? payout;
  }

  private async markFailed(payout: Payout, code: string): Promise<Payout> {
    await this.post(payoutFailedPosting(this.event(payout)));
    await this.deps.payouts.settle(payout.id, 'failed', { failure_code: code }, this.now());
    return (await this.deps.payouts.findById(payout.id)) ?? payout;
  }

  /**
   * `transfer.*`: a transfer Stripe made for one of our payouts settles it as paid (the case
   * where Stripe made the transfer but our process never saw the answer). `payout.paid` /
   * `payout.failed` concern the connected account's own bank payouts and are only recorded.
   */
  webhookHandler(): StripeEventHandler {
    return {
      types: ['transfer.*', 'payout.paid', 'payout.failed'],
      handle: async (event) => {
        if (!event.type.startsWith('transfer.')) {
          this.deps.log.info({ event: event.id, type: event.type, account: event.account ?? null }, 'connected account payout event');
          return;
        }
        const transfer = event.data.object as Stripe.Transfer;
        const payoutId = transfer.metadata?.['vidivo_payout_id'];
        if (!payoutId) return;
        const payout = await this.deps.payouts.findById(payoutId);
        if (!payout) return;
        if (event.type === 'transfer.reversed') {
          this.deps.log.warn({ event: event.id, payout: payout.id, transfer: transfer.id }, 'transfer reversed by Stripe: needs manual review');
          return;
        }
        if (payout.status === 'pending' && transfer.amount === payout.amount_minor) await this.markPaid(payout, transfer.id);
      },
    };
  }
}
