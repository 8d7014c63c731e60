/**
 * Presence of users on the signaling tier: while a user has a live signaling socket on some node,
 * that node keeps the user marked online with a TTL (refreshed well before it runs out). The
 * signal tier writes it; the calls API reads it (a call to an online host starts `ringing`).
 * Implementations: `MemoryPresenceStore` (one process), `RedisPresenceStore` (shared by nodes and
 * the API); one contract suite runs against both.
 */
export interface PresenceStore {
  /** Marks every user of `users` online, as seen by `node`, for `ttlMs` from now (a refresh). */
  mark(users: readonly string[], node: string, ttlMs: number): Promise<void>;
  /** Marks `user` offline, but only if `node` marked it last (another node may hold it now). */
  release(user: string, node: string): Promise<void>;
  /** True while a mark of `user` has neither expired nor been released. */
  isOnline(user: string): Promise<boolean>;
}

/** The Redis key of a user's presence (value: the id of the node that marked it last). */
export function presenceKey(prefix: string, userId: string): string {
  return `${prefix}:presence:user:${userId}`;
}
