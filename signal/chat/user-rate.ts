import type { Redis } from 'ioredis';
import { RedisScript } from '../../shared/runtime/redis-script.js';
import { TokenBucket } from '../session/token-bucket.js';

/** How long a frame waits for the shared budget before this node's own bucket decides (ms). */
export const USER_RATE_REDIS_WAIT_MS = 250;

/**
 * KEYS: the user's bucket; ARGV: rate per second, burst, now (ms), TTL (ms). A token bucket in a
 * hash {tokens, at}: refilled from `at` to `now` (a clock behind `at`, another node's, earns
 * nothing and does not move `at` back), one token taken if there is one. Returns 1 or 0.
 */
const TAKE = new RedisScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then tokens = burst at = now end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
local ok = 0
if tokens >= 1 then tokens = tokens - 1 ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return ok`);

/** The Redis key of a user's chat frame budget. */
export function userRateKey(prefix: string, userId: string): string {
  return `${prefix}:chat:rate:user:${userId}`;
}

/** One user's chat frame budget over all their chat sockets: in-process per node, or shared by every node. */
export interface UserRate {
  /** Takes one frame's token for `userId`; a promise when the answer comes from elsewhere. */
  take(userId: string, now: number): boolean | Promise<boolean>;
  /** `userId` has no chat socket here any more (its local bucket may go). */
  forget(userId: string): void;
}

/** Per node: each node keeps its own buckets (the bucket starts full with the user's first socket here). */
export class LocalUserRate implements UserRate {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(private readonly ratePerSec: number, private readonly burst: number) {}

  take(userId: string, now: number): boolean {
    let bucket = this.#buckets.get(userId);
    if (!bucket) {
      bucket = new TokenBucket(this.ratePerSec, this.burst, now);
      this.#buckets.set(userId, bucket);
    }
    return bucket.take(now);
  }

  forget(userId: string): void {
    this.#buckets.delete(userId);
  }
}

/**
 * Cluster-wide: one token bucket per user in Redis (`userRateKey`, a Lua script, one round trip
 * per frame), so the budget holds however the user's sockets spread over nodes. When Redis is
 * not connected, fails, or has not answered within USER_RATE_REDIS_WAIT_MS, this node's own
 * bucket decides (the per-node limit of `LocalUserRate`): frames are never held up by Redis.
 */
export class RedisUserRate implements UserRate {
  readonly #local: LocalUserRate;
  readonly #ttlMs: string;

  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly ratePerSec: number, private readonly burst: number) {
    this.#local = new LocalUserRate(ratePerSec, burst);
    // Long enough for an idle bucket to refill completely: an expired key is a full bucket anyway.
    this.#ttlMs = String(Math.ceil((burst / ratePerSec) * 1000) + 1000);
  }

  take(userId: string, now: number): boolean | Promise<boolean> {
    if (this.redis.status !== 'ready') return this.#local.take(userId, now);
    const shared = TAKE.run(this.redis, 1, userRateKey(this.prefix, userId), String(this.ratePerSec), String(this.burst), String(now), this.#ttlMs)
      .then((ok) => ok === 1);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => { timer = setTimeout(resolve, USER_RATE_REDIS_WAIT_MS, undefined); });
    return Promise.race([shared, late]).then(
      (ok) => ok ?? this.#local.take(userId, now),
      () => this.#local.take(userId, now),
    ).finally(() => clearTimeout(timer));
  }

  forget(userId: string): void {
    this.#local.forget(userId);
  }
}
