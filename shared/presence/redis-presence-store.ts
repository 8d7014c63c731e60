import type { Redis } from 'ioredis';
import { RedisScript } from '../runtime/redis-script.js';
import { presenceKey, type PresenceStore } from './presence-store.js';

/** KEYS: presence key; ARGV: node id. Deletes the key only if this node wrote it last. */
const RELEASE = new RedisScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);

/** KEYS: presence keys; ARGV: node id, ttl ms. */
const WRITE = new RedisScript(`for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2]) end return #KEYS`);

/**
 * PresenceStore on Redis: one key per user (`presenceKey`), its value the marking node, its TTL
 * the mark's. `mark` writes a whole batch in one script (one command). Fails fast while the
 * client is not connected (nothing is queued).
 */
export class RedisPresenceStore implements PresenceStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  async mark(users: readonly string[], node: string, ttlMs: number): Promise<void> {
    if (users.length === 0) return;
    this.#ready();
    await WRITE.run(this.redis, users.length, ...users.map((user) => presenceKey(this.prefix, user)), node, String(ttlMs));
  }

  async release(user: string, node: string): Promise<void> {
    this.#ready();
    await RELEASE.run(this.redis, 1, presenceKey(this.prefix, user), node);
  }

  async isOnline(user: string): Promise<boolean> {
    return (await this.redis.exists(presenceKey(this.prefix, user))) === 1;
  }

  #ready(): void {
    if (this.redis.status !== 'ready') throw new Error(`redis not ready (${this.redis.status})`);
  }
}
