import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/runtime/logger.js';

/** KEYS: presence key; ARGV: node id. Deletes the key only if this node wrote it last. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Presence for the calls API: while a user has a live signaling socket on some node, Redis key
 * `<prefix>:presence:user:<userId>` exists (value: a node id) with a TTL refreshed every
 * heartbeat. Without Redis it only counts locally. Redis errors are logged, never thrown.
 */
export class Presence {
  readonly #counts = new Map<string, number>();

  constructor(private readonly options: { redis?: Redis; prefix: string; nodeId: string; ttlMs: number; log: Logger }) {}

  /** Sockets this node holds for `userId`. */
  count(userId: string): number {
    return this.#counts.get(userId) ?? 0;
  }

  add(userId: string): void {
    const n = this.count(userId) + 1;
    this.#counts.set(userId, n);
    if (n === 1) this.#write([userId]);
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

  /** Refreshes every local user's key (called every heartbeat). */
  refresh(): void {
    this.#write([...this.#counts.keys()]);
  }

  #write(users: string[]): void {
    const { redis, ttlMs, nodeId, log } = this.options;
    if (!redis || users.length === 0 || redis.status !== 'ready') return;
    const pipeline = redis.pipeline();
    for (const user of users) pipeline.set(this.#key(user), nodeId, 'PX', ttlMs);
    pipeline.exec().catch((err: unknown) => log.debug({ err }, 'presence write failed'));
  }

  #key(userId: string): string {
    return `${this.options.prefix}:presence:user:${userId}`;
  }
}
