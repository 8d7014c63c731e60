import { openFileLimits, parseOpenFileLimits } from '../shared/runtime/open-files.js';

/**
 * Descriptors a node keeps for itself besides its client sockets: the database pool, Redis,
 * the listen socket, logs, scrapes of `/metrics`, refused upgrades on their way out.
 */
export const OWN_DESCRIPTORS = 128;

/** The soft "Max open files" limit in the text of `/proc/<pid>/limits`; undefined when absent or unlimited. */
export function parseOpenFilesLimit(limits: string): number | undefined {
  return usableSoft(parseOpenFileLimits(limits));
}

/**
 * This process's open-file limit; undefined where `/proc` does not say (not Linux). Node raises
 * its soft limit to the hard one at start, so this is in effect the hard limit.
 */
export function openFilesLimit(): number | undefined {
  return usableSoft(openFileLimits());
}

function usableSoft(limits: { soft: number } | undefined): number | undefined {
  return limits && Number.isSafeInteger(limits.soft) && limits.soft > 0 ? limits.soft : undefined;
}

/**
 * How many sockets a node accepts: `configured` when set (> 0), else what the open-file limit
 * leaves after OWN_DESCRIPTORS (at least 1), else no cap. Every socket is a descriptor, and a
 * uWebSockets.js listener that cannot accept for want of one (EMFILE) retries at once, spinning
 * a core the node's calls need, for as long as a connection waits in the backlog.
 */
export function socketCapacity(configured: number, limit: number | undefined): number {
  if (configured > 0) return configured;
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(1, limit - OWN_DESCRIPTORS);
}

/** Connections that have not upgraded when the open-file limit is unknown. */
export const PENDING_WITHOUT_LIMIT = 4096;
/** The least the default allows, however low the open-file limit. */
export const MIN_PENDING = 64;

/**
 * How many connections that have not upgraded a node holds: `configured` when set (> 0), else an
 * eighth of the open-file limit (at least MIN_PENDING), else PENDING_WITHOUT_LIMIT. Enough that a
 * burst of reconnecting clients is not shed before their requests are read (uWS accepts up to its
 * listen backlog of 512 in one go), few enough that silent connections cannot take the
 * descriptors upgrades and `/health` need.
 */
export function pendingCapacity(configured: number, limit: number | undefined): number {
  if (configured > 0) return configured;
  if (limit === undefined) return PENDING_WITHOUT_LIMIT;
  return Math.max(MIN_PENDING, Math.floor(limit / 8));
}
