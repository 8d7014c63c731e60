import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MemoryCallCache, RedisCallCache, callCacheKey } from '../../shared/calls/index.js';
import { dropRedisPrefix, redisClient, uniqueName } from '../helpers/services.js';
import { cachedCallFixture, callCacheContract } from './call-cache.contract.js';

callCacheContract('MemoryCallCache', async (ttlMs) => new MemoryCallCache(ttlMs), async () => undefined);

let redis: Redis | undefined;
const prefix = uniqueName('call-cache-contract');
callCacheContract(
  'RedisCallCache',
  async (ttlMs) => {
    redis ??= redisClient();
    await redis.ping();
    return new RedisCallCache(redis, prefix, ttlMs);
  },
  async () => {
    if (!redis) return;
    await dropRedisPrefix(redis, prefix);
    await redis.quit();
    redis = undefined;
  },
);

describe('call cache key', () => {
  it('is <prefix>:call:<id>, a hash of version and doc with a lifetime, as the API and the signal nodes write it', async () => {
    expect(callCacheKey('vidivo', 'c1')).toBe('vidivo:call:c1');
    const r = redisClient();
    const p = uniqueName('call-cache-key');
    try {
      const call = cachedCallFixture(2);
      await new RedisCallCache(r, p).put(call);
      expect(await r.hget(callCacheKey(p, call.id), 'version')).toBe('2');
      expect(await r.pttl(callCacheKey(p, call.id))).toBeGreaterThan(0);
    } finally {
      await dropRedisPrefix(r, p);
      await r.quit();
    }
  });
});
