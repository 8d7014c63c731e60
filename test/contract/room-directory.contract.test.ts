import type { Redis } from 'ioredis';
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
