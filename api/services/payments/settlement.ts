import type { Logger } from 'pino';
import type { MinuteSource, MongoFundingStore } from '../../../shared/billing/index.js';
import { isTerminal, type CallStore } from '../../../shared/calls/index.js';
import type { BilledMinutesRepository } from '../../repositories/billed-minutes.js';
import type { CallPayment, CallPaymentsRepository, IntentOutcome } from '../../repositories/call-payments.js';
import { authorizedByIntent, type PaymentHoldsRepository } from '../../repositories/payment-holds.js';
import { eachLimited } from './concurrency.js';
import { isFinalRefusal, type Intents } from './intents.js';
import type { LedgerService } from './ledger.js';
import { capturePosting, releasePosting, writeOffPosting } from './postings.js';

export interface SettlementDeps {
  payments: CallPaymentsRepository;
  holds: PaymentHoldsRepository;
  billed: BilledMinutesRepository;
  source: MinuteSource;
  calls: Pick<CallStore, 'get'>;
  funding: MongoFundingStore;
  ledger: LedgerService;
  intents: Intents | undefined;
  log: Logger;
  settleDelayMs: number;
  /** How often a running call's payment is looked at. */
  recheckMs: number;
  retryMaxMs: number;
  earningsHoldMs: number;
  /** A payment still `placing` this long after it was created belongs to a join that died. */
  orphanAfterMs: number;
  /** What the initial hold of a payment was (rate × BILLING_HOLD_MINUTES). */
  holdAmount: (payment: CallPayment) => number;
  now: () => Date;
}

/** Splits the billed amount over the intents in creation order, each up to what it authorized. */
export function allocate(billed: number, intents: Array<{ pi: string; amount_minor: number }>): { captures: Array<{ pi: string; amount_minor: number }>; uncovered: number } {
  let rest = billed;
  const captures = intents.map((intent) => {
    const amount = Math.min(intent.amount_minor, rest);
    rest -= amount;
    return { pi: intent.pi, amount_minor: amount };
  });
  return { captures, uncovered: rest };
}

/**
 * The end of a paid call: exactly the billed minutes are captured and the rest of every hold
 * released. The payment document is the durable to-do: a pass that fails (Stripe down, process
 * killed) leaves it `settling` with a later `next_attempt_at`, and the next pass, on any API
 * process, repeats the same Stripe calls under the same idempotency keys until all are done.
 */
export class Settlement {
  constructor(private readonly deps: SettlementDeps) {}

  /** Looks at up to `limit` due payments, `concurrency` at a time; returns how many reached a final state. */
  async runDue(limit: number, concurrency = 1): Promise<number> {
    const now = this.deps.now();
    let done = 0;
    await eachLimited(await this.deps.payments.due(['placing', 'held', 'settling'], now, limit), concurrency, async (payment) => {
      try {
        if (await this.step(payment)) done++;
      } catch (err) {
        await this.retryLater(payment, err);
      }
    });
    await this.releaseEarnings(limit, concurrency);
    return done;
  }

  private async retryLater(payment: CallPayment, err: unknown): Promise<void> {
    const attempts = payment.attempts + 1;
    const wait = Math.min(this.deps.retryMaxMs, this.deps.recheckMs * 2 ** Math.min(attempts, 20));
    this.deps.log.warn({ err, payment: payment.id, call: payment.call_id, attempts }, 'settlement failed; will retry');
    await this.deps.payments.update(payment.id, {
      attempts, last_error: err instanceof Error ? err.message : String(err), next_attempt_at: new Date(this.deps.now().getTime() + wait), updated_at: this.deps.now(),
    }).catch(() => undefined);
  }

  private async later(payment: CallPayment, ms: number): Promise<false> {
    await this.deps.payments.update(payment.id, { next_attempt_at: new Date(this.deps.now().getTime() + ms) }, [payment.state]);
    return false;
  }

  /** One look at a payment; true when it reached `settled`. */
  async step(payment: CallPayment): Promise<boolean> {
    const now = this.deps.now();
    const call = await this.deps.calls.get(payment.call_id);
    if (payment.state !== 'settling') {
      if (!call) {
        // A join that died between the hold and the call: nothing was billed, release it all.
        if (now.getTime() - payment.created_at.getTime() < this.deps.orphanAfterMs) return this.later(payment, this.deps.recheckMs);
      } else if (payment.state === 'placing') {
        await this.deps.payments.update(payment.id, { state: 'held' }, ['placing']);
        return this.later({ ...payment, state: 'held' }, this.deps.recheckMs);
      } else if (!isTerminal(call.status)) {
        return this.later(payment, this.deps.recheckMs);
      } else if (call.ended_at && now.getTime() < call.ended_at.getTime() + this.deps.settleDelayMs) {
        return this.later(payment, call.ended_at.getTime() + this.deps.settleDelayMs - now.getTime());
      }
      if ((await this.deps.source.pendingOf(payment.call_id)) > 0) return this.later(payment, this.deps.recheckMs);
      await this.deps.payments.update(payment.id, { state: 'settling', updated_at: now }, ['placing', 'held']);
    }
    return this.settle({ ...payment, state: 'settling' });
  }

  private async settle(payment: CallPayment): Promise<boolean> {
    const intents = this.deps.intents;
    let holds = await this.deps.holds.of(payment.id);
    if (holds.length === 0 && intents) holds = await this.recoverInitialHold(intents, payment);
    const totals = await this.deps.billed.totals(payment.call_id);
    const { captures, uncovered } = allocate(totals.gross, authorizedByIntent(holds));
    const outcomes: IntentOutcome[] = [...payment.intents];
    for (const { pi, amount_minor } of captures) {
      if (outcomes.some((o) => o.pi === pi)) continue;
      if (!intents) throw new Error('Stripe is not configured: holds cannot be settled');
      outcomes.push(await this.settleIntent(intents, payment, pi, amount_minor));
      await this.deps.payments.update(payment.id, { intents: outcomes, updated_at: this.deps.now() }, ['settling']);
    }
    const captured = outcomes.filter((o) => o.outcome === 'captured').reduce((s, o) => s + o.amount_minor, 0);
    const lost = outcomes.filter((o) => o.outcome === 'failed').reduce((s, o) => s + o.amount_minor, 0) + uncovered;
    const base = { callId: payment.call_id, guestId: payment.guest_id, currency: payment.currency, paymentId: payment.id };
    const capture = capturePosting({ ...base, amount: captured });
    if (capture) await this.deps.ledger.post(capture);
    const writeOff = writeOffPosting({ ...base, amount: lost });
    if (writeOff) await this.deps.ledger.post(writeOff);
    const now = this.deps.now();
    await this.deps.payments.update(payment.id, {
      state: 'settled', settled_at: now, updated_at: now, billed_minutes: totals.minutes, billed_minor: totals.gross, net_minor: totals.net,
      captured_minor: captured, written_off_minor: lost, paid_minutes_left: 0, last_error: null,
    }, ['settling']);
    await this.deps.funding.set({ callId: payment.call_id, paidMinutesLeft: 0, exhausted: true, throughMinute: 0, updatedAt: now });
    this.deps.log.info({ call: payment.call_id, payment: payment.id, minutes: totals.minutes, captured, written_off: lost }, 'payment settled');
    return true;
  }

  /**
   * A join whose hold request got no answer (Stripe slow, process killed) may have left an
   * authorization at Stripe that we never recorded. Repeating the request with the same
   * idempotency key names that intent (or is refused, or makes one): it is recorded so the
   * settlement cancels it.
   */
  private async recoverInitialHold(intents: Intents, payment: CallPayment): Promise<Awaited<ReturnType<PaymentHoldsRepository['of']>>> {
    const amount = (await this.deps.billed.totals(payment.call_id)).gross;
    if (amount > 0) return [];
    try {
      const pi = await intents.authorize({ paymentId: payment.id, k: 0, amount: this.deps.holdAmount(payment), currency: payment.currency, paymentMethod: payment.payment_method, callId: payment.call_id, ...(payment.customer ? { customer: payment.customer } : {}) });
      await this.deps.holds.record({ payment_id: payment.id, k: 0, pi, kind: 'initial', amount_minor: this.deps.holdAmount(payment), created_at: this.deps.now() });
    } catch (err) {
      if (!isFinalRefusal(err)) throw err;
    }
    return this.deps.holds.of(payment.id);
  }

  /** Captures `amount` of `pi`, or cancels it when nothing is owed on it. */
  private async settleIntent(intents: Intents, payment: CallPayment, pi: string, amount: number): Promise<IntentOutcome> {
    try {
      if (amount > 0) await intents.capture(payment.id, pi, amount);
      else await intents.cancel(payment.id, pi);
      return { pi, outcome: amount > 0 ? 'captured' : 'canceled', amount_minor: amount };
    } catch (err) {
      if (!isFinalRefusal(err)) throw err;
      // Refused: maybe because an earlier attempt already did it (its answer was lost).
      const status = await intents.status(pi);
      if (amount > 0 && status === 'succeeded') return { pi, outcome: 'captured', amount_minor: amount };
      if (amount === 0) return { pi, outcome: 'canceled', amount_minor: 0 };
      this.deps.log.error({ err, call: payment.call_id, pi, amount }, 'capture refused; the minutes are written off');
      return { pi, outcome: 'failed', amount_minor: amount };
    }
  }

  /** Posts the release of host earnings whose refund and dispute window has passed. */
  async releaseEarnings(limit: number, concurrency = 1): Promise<void> {
    const now = this.deps.now();
    await eachLimited(await this.deps.payments.unreleased(new Date(now.getTime() - this.deps.earningsHoldMs), limit), concurrency, async (payment) => {
      const posting = releasePosting({ callId: payment.call_id, hostId: payment.host_id, currency: payment.currency, net: payment.net_minor });
      if (posting) await this.deps.ledger.post(posting);
      await this.deps.payments.update(payment.id, { released_at: now }, ['settled']);
    });
  }
}
