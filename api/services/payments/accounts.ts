/**
 * The chart of accounts (docs/payments.md). Amounts are signed integers in minor units:
 * positive = debit, negative = credit; every transaction's postings sum to zero, so the whole
 * ledger does too. Account names are `<owner>:<id>[:<bucket>]` strings so a balance is one
 * group-by away.
 */
export const Accounts = {
  /** Asset: the platform's Stripe balance (captures in; refunds, lost disputes, payouts out). */
  stripeClearing: 'stripe:clearing',
  /** Revenue: the platform's fee share of billed minutes (debited back on refunds and disputes). */
  platformFees: 'platform:fees',
  /** Expense: billed minutes that could not be collected (capture failed for good). */
  platformLosses: 'platform:losses',
  /** Asset (receivable): minutes the guest used and that are not captured yet. */
  guest: (guestId: string) => `guest:${guestId}`,
  /** Liability: the host's share of minutes billed, not captured yet. */
  hostPending: (hostId: string) => `host:${hostId}:pending`,
  /** Liability: the host's captured earnings, payable (may turn positive: a clawback the host owes). */
  hostAvailable: (hostId: string) => `host:${hostId}:available`,
  /**
   * Liability: payouts requested and not settled yet (in transit to the host's bank). What was
   * paid out to date is the sum of this account's `payout_paid` debits (LedgerService.kindTotals).
   */
  hostInTransit: (hostId: string) => `host:${hostId}:in_transit`,
} as const;

/** A valid account name: lower-case owner, an id of safe characters, optional bucket. */
export const ACCOUNT_PATTERN = /^(?:stripe:clearing|platform:(?:fees|losses)|guest:[A-Za-z0-9_-]{1,64}|host:[A-Za-z0-9_-]{1,64}:(?:pending|available|in_transit))$/;

/** ISO 4217 code, upper case. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;

export interface MinuteSplit {
  /** What the guest pays for the minute. */
  gross: number;
  /** The platform's fee: `floor(gross × feeBps / 10000)`, rounded down in the host's favour. */
  fee: number;
  /** The host's earning: `gross − fee`. */
  net: number;
}

/** Splits a per-minute price into host earning and platform fee, in integers only. */
export function splitMinute(rateMinor: number, feeBps: number): MinuteSplit {
  if (!Number.isSafeInteger(rateMinor) || rateMinor < 0) throw new TypeError(`rate must be a non-negative safe integer, got ${rateMinor}`);
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10000) throw new TypeError(`fee must be 0..10000 basis points, got ${feeBps}`);
  const fee = Number((BigInt(rateMinor) * BigInt(feeBps)) / 10000n);
  return { gross: rateMinor, fee, net: rateMinor - fee };
}

/**
 * The share of a reversal of `amount` when `previous` of the same captured total was reversed
 * already: the split of the running total minus the split of what came before, so any series
 * of partial refunds adds up to exactly the original split (no rounding drift).
 */
export function splitIncrement(previous: number, amount: number, total: MinuteSplit): MinuteSplit {
  const before = splitProportionally(previous, total);
  const after = splitProportionally(previous + amount, total);
  return { gross: amount, fee: after.fee - before.fee, net: after.net - before.net };
}

/**
 * Splits `amount` of a captured total proportionally to `(net, fee)` of the original split,
 * for partial refunds: the fee share rounds down, the host share takes the remainder, so the
 * two always add up to `amount` exactly.
 */
export function splitProportionally(amount: number, total: MinuteSplit): MinuteSplit {
  if (!Number.isSafeInteger(amount) || amount < 0 || amount > total.gross) throw new TypeError(`amount must be 0..${total.gross}, got ${amount}`);
  if (total.gross === 0) return { gross: 0, fee: 0, net: 0 };
  const fee = Number((BigInt(amount) * BigInt(total.fee)) / BigInt(total.gross));
  return { gross: amount, fee, net: amount - fee };
}
