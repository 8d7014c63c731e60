import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** How long the API waits for one Redis command (rate limits, presence, announcements). */
export const API_REDIS_COMMAND_TIMEOUT_MS = 1000;

/**
 * The API's Redis client. A Redis that stops answering must not hold requests: commands fail
 * after API_REDIS_COMMAND_TIMEOUT_MS (rate limits then fall back to memory, presence reads as
 * offline, announcements are dropped). Resolves even when Redis is not reachable yet.
 */
export async function connectApiRedis(url: string, log: Logger): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, commandTimeout: API_REDIS_COMMAND_TIMEOUT_MS });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  await redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable at start; will retry'));
  return redis;
}
