/**
 * Timings and sizes the node derives from its settings at start-up (`signal/main.ts`), named so
 * each formula is written and explained once.
 */

/** Billing-tick claims live at least this long (ms), and at least TICK_CLAIM_TTL_TICKS ticks. */
export const TICK_CLAIM_TTL_MIN_MS = 3_600_000;
export const TICK_CLAIM_TTL_TICKS = 10;

/**
 * How long a claimed billing minute is remembered: long past any catch-up (`tickCatchUpMs` must
 * stay below it), so a minute is never claimed twice.
 */
export function tickClaimTtlMs(tickMs: number): number {
  return Math.max(tickMs * TICK_CLAIM_TTL_TICKS, TICK_CLAIM_TTL_MIN_MS);
}

/** Replay buffers outlive this many grace periods, and at least REPLAY_BUFFER_TTL_MIN_MS. */
export const REPLAY_BUFFER_TTL_GRACES = 4;
export const REPLAY_BUFFER_TTL_MIN_MS = 600_000;

/** How long a peer's replay buffer and counter stay in the directory after their last write (ms). */
export function replayBufferTtlMs(reconnectGraceMs: number): number {
  return Math.max(reconnectGraceMs * REPLAY_BUFFER_TTL_GRACES, REPLAY_BUFFER_TTL_MIN_MS);
}

/** A Redis command not answered within this long fails (ms): the node degrades instead of hanging. */
export const REDIS_COMMAND_TIMEOUT_MS = 5_000;
/** Reconnection backoff to Redis: this much per attempt (ms), up to REDIS_RETRY_MAX_MS. */
export const REDIS_RETRY_STEP_MS = 100;
export const REDIS_RETRY_MAX_MS = 2_000;

/** Pause before reconnection attempt `attempt` to Redis (ms). */
export function redisRetryDelayMs(attempt: number): number {
  return Math.min(attempt * REDIS_RETRY_STEP_MS, REDIS_RETRY_MAX_MS);
}

/** uWS takes its idle timeout in seconds, a multiple of 4, between 16 and 960 here. */
export const UWS_IDLE_STEP_SEC = 4;
export const UWS_IDLE_MIN_SEC = 16;
export const UWS_IDLE_MAX_SEC = 960;
/** Seconds added to uWS's idle timeout beyond twice the node's: slack for the node's own timer. */
export const UWS_IDLE_SLACK_SEC = 8;

/**
 * uWS's own idle timeout (s): a backstop well behind the node's (`SIGNAL_IDLE_TIMEOUT_MS`, which
 * closes with a documented code first): twice it, rounded up to uWS's step, plus slack.
 */
export function uwsIdleTimeoutSec(idleTimeoutMs: number): number {
  const twice = Math.ceil((idleTimeoutMs * 2) / (UWS_IDLE_STEP_SEC * 1000)) * UWS_IDLE_STEP_SEC + UWS_IDLE_SLACK_SEC;
  return Math.min(UWS_IDLE_MAX_SEC, Math.max(UWS_IDLE_MIN_SEC, twice));
}

/**
 * A node's rooms claim unclaimed ticks this far back: the longest an active call's minutes can go
 * unclaimed — no node holding a participant (reconnect grace plus dead-node detection), plus the
 * media report grace (a clock that starts at `active` when no report came is known only then).
 */
export function tickCatchUpMs(s: { reconnectGraceMs: number; nodeTtlMs: number; sweepMs: number; tickMs: number; mediaReportGraceMs: number }, claimTtlMs: number): number {
  return Math.min(s.reconnectGraceMs + s.nodeTtlMs + s.sweepMs + s.mediaReportGraceMs, claimTtlMs - s.tickMs);
}

/** Sweeps a node waits before claiming a minute that ended before it held the call. */
export const TICK_DEFER_SWEEPS = 2;

/** Retry period of billing minutes whose write to the minute store failed (and adoption period of parked ones). */
export const MINUTE_RETRY_MS = 1000;
/** Billing minutes a node keeps in memory while the minute store is down. */
export const MINUTES_MAX_QUEUED = 100_000;
/**
 * A minute parked in the Redis outbox this long is written out by any node (its own node died or
 * is stuck): well below BILLING_SETTLE_DELAY_MS's default (10 s), so it is billed before settlement.
 */
export const MINUTE_ADOPT_AFTER_MS = 5000;
