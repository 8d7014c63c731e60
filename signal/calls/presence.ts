import type { Redis } from 'ioredis';
import { RedisPresenceStore, type PresenceStore } from '../../shared/presence/index.js';
import type { Logger } from '../../shared/runtime/logger.js';

/**
 * Keys written per Redis command by a refresh. A script holds Redis for its whole run, and every
 * node's cross-node PUBLISH waits behind it: 1,000 keys took 2.1 ms on an idle Redis here, 250
 * take about 0.5 ms, as long as a replay write-behind of 50 participants.
 */
const PRESENCE_BATCH = 250;
/** Refreshes per TTL: two may fail before a mark lapses. */
export const PRESENCE_REFRESHES_PER_TTL = 3;
/** Refreshes never run more often than this (ms), however short the TTL. */
export const PRESENCE_MIN_REFRESH_MS = 100;

/**
 * This node's side of presence: counts the sockets per user here, and keeps each user with one
 * marked online in the `PresenceStore` (key format in `shared/presence`), refreshed every
 * `refreshMs` (a third of the TTL: two refreshes may fail before a mark lapses). Without a store
 * (no Redis) it only counts locally. Store errors are logged, never thrown.
 */
export class Presence {
  readonly #counts = new Map<string, number>();
  #refreshing = false;

  readonly #store: PresenceStore | undefined;

  /** `store` defaults to a `RedisPresenceStore` on `redis` when one is given. */
  constructor(private readonly options: { redis?: Redis; store?: PresenceStore; prefix: string; nodeId: string; ttlMs: number; log: Logger }) {
    this.#store = options.store ?? (options.redis ? new RedisPresenceStore(options.redis, options.prefix) : undefined);
  }

  /** Sockets this node holds for `userId`. */
  count(userId: string): number {
    return this.#counts.get(userId) ?? 0;
  }

  add(userId: string): void {
    const n = this.count(userId) + 1;
    this.#counts.set(userId, n);
    if (n === 1) void this.#write([userId]);
  }

  remove(userId: string): void {
    const n = this.count(userId) - 1;
    if (n > 0) {
      this.#counts.set(userId, n);
      return;
    }
    this.#counts.delete(userId);
    this.#store?.release(userId, this.options.nodeId).catch(() => undefined);
  }

  /** How often `refresh` should run to keep every key alive. */
  get refreshMs(): number {
    return Math.max(PRESENCE_MIN_REFRESH_MS, Math.floor(this.options.ttlMs / PRESENCE_REFRESHES_PER_TTL));
  }

  /**
   * Refreshes every local user's key, PRESENCE_BATCH keys per Redis command (one script, so
   * one command object and one write for the whole batch) and one command at a time, so
   * thousands of users neither stall the event loop nor flood Redis. A refresh still running
   * when the next is due makes that one a no-op.
   */
  async refresh(): Promise<void> {
    if (this.#refreshing) return;
    this.#refreshing = true;
    try {
      const users = [...this.#counts.keys()];
      for (let i = 0; i < users.length; i += PRESENCE_BATCH) await this.#write(users.slice(i, i + PRESENCE_BATCH));
    } finally {
      this.#refreshing = false;
    }
  }

  async #write(users: string[]): Promise<void> {
    const { ttlMs, nodeId, log } = this.options;
    if (!this.#store || users.length === 0) return;
    await this.#store.mark(users, nodeId, ttlMs).catch((err: unknown) => log.debug({ err }, 'presence write failed'));
  }
}
