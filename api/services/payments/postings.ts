import { Accounts, type MinuteSplit } from './accounts.js';
import type { PostRequest } from './ledger.js';

/**
 * Builders of every ledger transaction the product posts (docs/payments.md, "The ledger").
 * Pure functions: each returns a balanced PostRequest with its deterministic id; postings of
 * zero are left out (a free minute or a 0-bps fee posts nothing for that leg).
 */

function nonZero(request: PostRequest): PostRequest | null {
  const postings = request.postings.filter((p) => p.amount_minor !== 0);
  return postings.length >= 2 ? { ...request, postings } : null;
}

export interface MinuteEvent {
  callId: string;
  minute: number;
  guestId: string;
  hostId: string;
  currency: string;
  split: MinuteSplit;
  paymentId?: string;
}

/** A billed minute: the guest owes the gross; the host earns the net (pending); the platform books the fee. */
export function minutePosting(e: MinuteEvent): PostRequest | null {
  return nonZero({
    id: `minute:${e.callId}:${e.minute}`, kind: 'minute', currency: e.currency,
    postings: [
      { account: Accounts.guest(e.guestId), amount_minor: e.split.gross },
      { account: Accounts.hostPending(e.hostId), amount_minor: -e.split.net },
      { account: Accounts.platformFees, amount_minor: -e.split.fee },
    ],
    refs: { call_id: e.callId, minute: e.minute, ...(e.paymentId ? { payment_id: e.paymentId } : {}) },
  });
}

export interface CallSettlement {
  callId: string;
  guestId: string;
  hostId: string;
  currency: string;
  /** Totals of the call's billed minutes. */
  total: MinuteSplit;
}

export interface Collection {
  callId: string;
  guestId: string;
  /** Amount collected (capture) or given up (write-off), minor units. */
  amount: number;
  currency: string;
  paymentId?: string;
}

/** Billed minutes were captured: the receivable becomes money on the platform's Stripe balance. */
export function capturePosting(e: Collection): PostRequest | null {
  return nonZero({
    id: `capture:${e.callId}`, kind: 'capture', currency: e.currency,
    postings: [
      { account: Accounts.stripeClearing, amount_minor: e.amount },
      { account: Accounts.guest(e.guestId), amount_minor: -e.amount },
    ],
    refs: { call_id: e.callId, ...(e.paymentId ? { payment_id: e.paymentId } : {}) },
  });
}

/**
 * Billed minutes that could not be captured (the card refused the capture for good): the
 * platform bears the loss; the host keeps the earning, since the host delivered the minutes.
 */
export function writeOffPosting(e: Collection): PostRequest | null {
  return nonZero({
    id: `write_off:${e.callId}`, kind: 'write_off', currency: e.currency,
    postings: [
      { account: Accounts.platformLosses, amount_minor: e.amount },
      { account: Accounts.guest(e.guestId), amount_minor: -e.amount },
    ],
    refs: { call_id: e.callId, ...(e.paymentId ? { payment_id: e.paymentId } : {}) },
  });
}

export interface EarningRelease {
  callId: string;
  hostId: string;
  currency: string;
  /** The host's net earning of the call's billed minutes. */
  net: number;
}

/**
 * The refund and dispute window of a settled call passed (EARNINGS_HOLD_DAYS): the host's
 * earning moves from pending to available for payout.
 */
export function releasePosting(e: EarningRelease): PostRequest | null {
  return nonZero({
    id: `release:${e.callId}`, kind: 'earning_release', currency: e.currency,
    postings: [
      { account: Accounts.hostPending(e.hostId), amount_minor: e.net },
      { account: Accounts.hostAvailable(e.hostId), amount_minor: -e.net },
    ],
    refs: { call_id: e.callId },
  });
}

export interface Reversal {
  /** `refund:<stripe refund id>`, `dispute:<dispute id>`, `dispute_won:<dispute id>`. */
  id: string;
  kind: 'refund' | 'dispute' | 'dispute_won';
  callId: string;
  hostId: string;
  /** Whose card the money goes back to (or is taken from again): the event is in their history. */
  guestId: string;
  currency: string;
  /** The share of the captured amount being reversed (see splitProportionally). */
  split: MinuteSplit;
  refs?: PostRequest['refs'];
}

/**
 * Money going back to the card (refund, lost dispute): taken from the Stripe balance and
 * charged back to the host's available earnings and the platform's fees in proportion. Always
 * from `available`, also within the hold window (the release then makes it whole), so that a
 * refund and a release racing each other need no ordering.
 * `dispute_won` books the same amounts the other way.
 */
export function reversalPosting(e: Reversal): PostRequest | null {
  const sign = e.kind === 'dispute_won' ? -1 : 1;
  return nonZero({
    id: e.id, kind: e.kind, currency: e.currency,
    postings: [
      { account: Accounts.stripeClearing, amount_minor: -sign * e.split.gross },
      { account: Accounts.hostAvailable(e.hostId), amount_minor: sign * e.split.net },
      { account: Accounts.platformFees, amount_minor: sign * e.split.fee },
    ],
    refs: { call_id: e.callId, ...e.refs, parties: [Accounts.guest(e.guestId)] },
  });
}

export interface PayoutEvent {
  payoutId: string;
  hostId: string;
  currency: string;
  amount: number;
}

/** A payout was requested: the amount leaves the host's available balance and is in transit. */
export function payoutRequestedPosting(e: PayoutEvent): PostRequest | null {
  return nonZero({
    id: `payout:${e.payoutId}`, kind: 'payout', currency: e.currency,
    postings: [
      { account: Accounts.hostAvailable(e.hostId), amount_minor: e.amount },
      { account: Accounts.hostInTransit(e.hostId), amount_minor: -e.amount },
    ],
    refs: { payout_id: e.payoutId, user_id: e.hostId },
  });
}

/** The payout reached the host: the money leaves the platform's Stripe balance. */
export function payoutPaidPosting(e: PayoutEvent): PostRequest | null {
  return nonZero({
    id: `payout_paid:${e.payoutId}`, kind: 'payout_paid', currency: e.currency,
    postings: [
      { account: Accounts.hostInTransit(e.hostId), amount_minor: e.amount },
      { account: Accounts.stripeClearing, amount_minor: -e.amount },
    ],
    refs: { payout_id: e.payoutId, user_id: e.hostId },
  });
}

/** The payout failed: the amount returns to the host's available balance. */
export function payoutFailedPosting(e: PayoutEvent): PostRequest | null {
  return nonZero({
    id: `payout_failed:${e.payoutId}`, kind: 'payout_failed', currency: e.currency,
    postings: [
      { account: Accounts.hostInTransit(e.hostId), amount_minor: e.amount },
      { account: Accounts.hostAvailable(e.hostId), amount_minor: -e.amount },
    ],
    refs: { payout_id: e.payoutId, user_id: e.hostId },
  });
}
