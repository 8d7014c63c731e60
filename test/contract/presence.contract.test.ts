import type { Redis } from 'ioredis';
import { MemoryPresenceStore, RedisPresenceStore, presenceKey } from '../../shared/presence/index.js';
import { describe, expect, it } from 'vitest';
import { dropRedisPrefix, redisClient, uniqueName } from '../helpers/services.js';
import { RedisHostPresence } from '../../api/services/calls/presence.js';
import { createLogger } from '../../shared/runtime/logger.js';
import { Presence } from '../../signal/calls/presence.js';
import { hostPresenceContract, presenceContract } from './presence.contract.js';

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

const log = createLogger({ level: 'silent' });

// In one process without Redis the API asks the node (SignalNode.isUserOnline is Presence.holds).
hostPresenceContract('in-process (no Redis)', async () => {
  const node = new Presence({ prefix: 'p', nodeId: 'node-a', ttlMs: 60_000, log });
  return { node, isOnline: async (user) => node.holds(user) };
}, async () => undefined);

let hostRedis: Redis | undefined;
const hostPrefix = uniqueName('host-presence');
hostPresenceContract('Redis (presence key)', async () => {
  hostRedis = redisClient();
  await hostRedis.ping();
  const node = new Presence({ redis: hostRedis, prefix: hostPrefix, nodeId: 'node-a', ttlMs: 60_000, log });
  const api = new RedisHostPresence(hostRedis, hostPrefix);
  return { node, isOnline: (user) => api.isOnline(user) };
}, async () => {
  if (!hostRedis) return;
  await dropRedisPrefix(hostRedis, hostPrefix);
  await hostRedis.quit();
});
