import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../signal/calls/memory-directory.js';
import { RedisDirectory } from '../../signal/calls/redis-directory.js';
import { dropRedisPrefix, redisClient, uniqueName } from '../helpers/services.js';
import { roomDirectoryContract } from './room-directory.contract.js';

let memory: MemoryDirectory | undefined;
roomDirectoryContract(
  'MemoryDirectory',
  async (_nodeId, replayLimit) => (memory ??= new MemoryDirectory(replayLimit)),
  async () => {
    memory = undefined;
  },
);

let prefix = uniqueName('dir');
const clients: Redis[] = [];
roomDirectoryContract(
  'RedisDirectory',
  async (nodeId, replayLimit) => {
    const redis = redisClient();
    clients.push(redis);
    return new RedisDirectory({ redis, prefix, nodeId, replayLimit, bufferTtlMs: 60_000, tickTtlMs: 60_000 });
  },
  async () => {
    const [first, ...rest] = clients.splice(0);
    if (first) await dropRedisPrefix(first, prefix);
    await Promise.all([first, ...rest].map((c) => c?.quit()));
    prefix = uniqueName('dir');
  },
);

describe('RedisDirectory dead-node sweep', () => {
  it('hands over every room it marked even when one fails, and puts the failed one back', async () => {
    const sweepPrefix = uniqueName('sweep');
    const redis = redisClient();
    try {
      const dead = new RedisDirectory({ redis, prefix: sweepPrefix, nodeId: 'dead', replayLimit: 10, bufferTtlMs: 60_000, tickTtlMs: 60_000 });
      const survivor = new RedisDirectory({ redis, prefix: sweepPrefix, nodeId: 'alive', replayLimit: 10, bufferTtlMs: 60_000, tickTtlMs: 60_000 });
      const calls = Array.from({ length: 120 }, (_, i) => `call-${i}`);
      for (const callId of calls) await dead.join(callId, 'host', { node: 'dead', conn: `c-${callId}`, user: 'u', state: 'connected', since: 1 }, undefined);
      // A member record the marking script cannot decode.
      await redis.hset(`${sweepPrefix}:room:call-7:members`, 'host', '{not json');

      const marked: string[] = [];
      const sweep = survivor.sweepDeadNodes(['alive'], Date.now(), Date.now() + 30_000, 50_000, (room) => marked.push(room.callId));
      await expect(sweep).rejects.toThrow(/marking 1 room\(s\) of dead node dead failed/);
      // Every room was either handed over as marked or is still (or again) the dead node's, for the next sweep.
      const left = await redis.smembers(`${sweepPrefix}:node:dead:rooms`);
      expect(left).toContain('call-7');
      expect(marked).not.toContain('call-7');
      expect([...marked, ...left].sort()).toEqual([...calls].sort());
      expect(marked.length).toBeGreaterThan(0);
      for (const callId of marked.slice(0, 5)) {
        expect(JSON.parse((await redis.hget(`${sweepPrefix}:room:${callId}:members`, 'host'))!)).toMatchObject({ state: 'reconnecting' });
      }
    } finally {
      await dropRedisPrefix(redis, sweepPrefix);
      await redis.quit();
    }
  });
});
