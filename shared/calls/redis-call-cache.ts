import type { Redis } from 'ioredis';
import { RedisScript } from '../runtime/redis-script.js';
import type { Call } from './call.js';
import { CALL_CACHE_TTL_MS, decodeCachedCall, encodeCachedCall, type CallCache } from './call-cache.js';

/** `<prefix>:call:<id>`: a hash of the call's `version` and its JSON (`doc`), written by the API and the signal nodes. */
export function callCacheKey(prefix: string, callId: string): string {
  return `${prefix}:call:${callId}`;
}

/** KEYS: call key; ARGV: version, doc, ttl ms. Writes unless a newer version is there; 1 when written. */
const PUT = new RedisScript(`
local cached = redis.call('HGET', KEYS[1], 'version')
if cached and tonumber(cached) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'doc', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`);

/** The call cache on Redis, shared by every signal node and API process of a deployment (key: `callCacheKey`). */
export class RedisCallCache implements CallCache {
  readonly #ttl: string;

  constructor(private readonly redis: Redis, private readonly prefix: string, ttlMs = CALL_CACHE_TTL_MS) {
    this.#ttl = String(ttlMs);
  }

  async get(id: string): Promise<Call | null> {
    const doc = await this.redis.hget(callCacheKey(this.prefix, id), 'doc');
    return doc === null ? null : decodeCachedCall(doc);
  }

  async put(call: Call): Promise<void> {
    await PUT.run(this.redis, 1, callCacheKey(this.prefix, call.id), String(call.version), encodeCachedCall(call), this.#ttl);
  }
}
