import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/runtime/logger.js';

/** KEYS: presence key; ARGV: node id. Deletes the key only if this node wrote it last. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Keys written per Redis pipeline by a refresh. */
const PRESENCE_BATCH = 500;

/**
 * Presence for the calls API: while a user has a live signaling socket on some node, Redis key
 * `<prefix>:presence:user:<userId>` exists (value: a node id) with a TTL refreshed every
 * heartbeat. Without Redis it only counts locally. Redis errors are logged, never thrown.
 */
export class Presence {
  readonly #counts = new Map<string, number>();
  #refreshing = false;

  constructor(private readonly options: { redis?: Redis; prefix: string; nodeId: string; ttlMs: number; log: Logger }) {}

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
    const { redis } = this.options;
    if (redis?.status === 'ready') redis.eval(RELEASE, 1, this.#key(userId), this.options.nodeId).catch(() => undefined);
  }

  /**
   * Refreshes every local user's key (called every heartbeat), PRESENCE_BATCH keys per pipeline and
   * one pipeline at a time, so thousands of users neither stall the event loop nor flood Redis.
   * A refresh still running when the next is due makes that one a no-op.
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
    const { redis, ttlMs, nodeId, log } = this.options;
    if (!redis || users.length === 0 || redis.status !== 'ready') return;
    const pipeline = redis.pipeline();
    for (const user of users) pipeline.set(this.#key(user), nodeId, 'PX', ttlMs);
    await pipeline.exec().catch((err: unknown) => log.debug({ err }, 'presence write failed'));
  }

  #key(userId: string): string {
    return `${this.options.prefix}:presence:user:${userId}`;
  }
}
