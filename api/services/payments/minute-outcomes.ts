import type { StoredMinute } from '../../../shared/billing/index.js';
import { isTerminal, type Call } from '../../../shared/calls/index.js';
import type { BilledMinute, MinuteStatus } from '../../repositories/billed-minutes.js';
import type { CallPayment } from '../../repositories/call-payments.js';
import { splitMinute } from './accounts.js';
import { fundedMinutes } from './holds.js';

/** What one pass knows of a call whose minutes it applies, read before any decision. */
export interface CallState {
  payment: CallPayment | null;
  /** Read only for a payment still placing or held. */
  call: Call | null;
  /** Outcomes already stored for the call (a crash between writes, or another process), by minute. */
  stored: Map<number, BilledMinute>;
  /** Authorized total of the payment's holds. */
  authorized: number;
}

/** The outcomes of a call's minutes decided in one pass, in minute order. */
export interface CallDecision {
  /** Outcomes to insert (first writer wins). */
  fresh: BilledMinute[];
  /** Outcomes already stored for minutes of this pass: nothing to insert, the rest still applies. */
  kept: BilledMinute[];
  /** Minutes left for the next pass: the hold is to be extended first, as after every minute before. */
  deferred: StoredMinute[];
}

const LATE_STATES = new Set<CallPayment['state']>(['settling', 'settled', 'failed']);

/** Whether the payment is past taking minutes: every minute of it is `late`. */
export function isLatePayment(payment: CallPayment | null): boolean {
  return payment !== null && LATE_STATES.has(payment.state);
}

function statusOf(minute: StoredMinute, state: CallState, billedCount: number): MinuteStatus {
  const { payment, call } = state;
  if (!payment) return 'free';
  if (isLatePayment(payment)) return 'late';
  if (call && isTerminal(call.status) && call.ended_at && minute.at.getTime() > call.ended_at.getTime()) return 'after_end';
  if (minute.reconnecting.length > 0) return 'reconnecting';
  if (billedCount >= fundedMinutes(state.authorized, payment.rate_minor)) return 'unfunded';
  return 'billed';
}

/** Billed minutes of the call already stored. */
export function storedBilled(state: CallState): number {
  let n = 0;
  for (const row of state.stored.values()) if (row.status === 'billed') n += 1;
  return n;
}

/** True when the funding step after this outcome would try to extend the hold (see MinuteFunding). */
export function wouldExtend(state: CallState, status: MinuteStatus, billedCount: number, extendAtMinutes: number): boolean {
  const { payment } = state;
  if (!payment || payment.exhausted || (status !== 'billed' && status !== 'unfunded')) return false;
  return fundedMinutes(state.authorized, payment.rate_minor) - billedCount <= extendAtMinutes;
}

/**
 * Decides a call's minutes in minute order, by the same rules as one minute at a time: no
 * payment → free; payment settling or settled → late; the minute ended after the call →
 * after_end; a peer reconnecting → reconnecting; no paid minute left on the holds → unfunded;
 * else billed. A stored outcome is kept. After an outcome that makes the hold due for an
 * extension, the call's later minutes wait for the next pass, so each is decided with the
 * extended hold, exactly as before.
 */
export function decideCall(minutes: StoredMinute[], state: CallState, extendAtMinutes: number, now: Date): CallDecision {
  const decision: CallDecision = { fresh: [], kept: [], deferred: [] };
  const { payment } = state;
  let billedCount = storedBilled(state);
  for (const [i, minute] of minutes.entries()) {
    let row = state.stored.get(minute.minute);
    if (row) {
      decision.kept.push(row);
    } else {
      const status = statusOf(minute, state, billedCount);
      const split = payment && status === 'billed' ? splitMinute(payment.rate_minor, payment.fee_bps) : { gross: 0, fee: 0, net: 0 };
      row = {
        call_id: minute.callId, minute: minute.minute, status, payment_id: payment?.id ?? null, currency: payment?.currency ?? 'USD',
        gross_minor: split.gross, fee_minor: split.fee, net_minor: split.net, at: minute.at, applied_at: now,
      };
      decision.fresh.push(row);
      if (status === 'billed') billedCount += 1;
    }
    if (wouldExtend(state, row.status, billedCount, extendAtMinutes)) {
      decision.deferred = minutes.slice(i + 1);
      break;
    }
  }
  return decision;
}
