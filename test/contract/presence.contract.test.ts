import type { Redis } from 'ioredis';
import { MemoryPresenceStore, RedisPresenceStore, presenceKey } from '../../shared/presence/index.js';
import { describe, expect, it } from 'vitest';
import { dropRedisPrefix, redisClient, uniqueName } from '../helpers/services.js';
import { presenceContract } from './presence.contract.js';

presenceContract('MemoryPresenceStore', async () => new MemoryPresenceStore(), async () => undefined);

let redis: Redis | undefined;
const prefix = uniqueName('presence-contract');
presenceContract(
  'RedisPresenceStore',
  async () => {
    redis = redisClient();
    await redis.ping();
    return new RedisPresenceStore(redis, prefix);
  },
  async () => {
    if (!redis) return;
    await dropRedisPrefix(redis, prefix);
    await redis.quit();
  },
);

describe('presence key', () => {
  it('is <prefix>:presence:user:<id>, as the API reads and the signal tier writes it', () => {
    expect(presenceKey('vidivo', 'u1')).toBe('vidivo:presence:user:u1');
  });
});
