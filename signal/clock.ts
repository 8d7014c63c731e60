/** `performance.timeOrigin` read once: its getter allocates, and relay timing reads the clock per frame. */
const ORIGIN_MS = performance.timeOrigin;

/**
 * Wall-clock milliseconds with sub-millisecond resolution (epoch-based, so timestamps from
 * different processes on one machine compare), for relay latency across nodes.
 */
export function preciseNow(): number {
  return ORIGIN_MS + performance.now();
}
