import type { Redis } from 'ioredis';
import type { Logger } from '../shared/runtime/logger.js';

/** The oldest Redis the signal tier runs on: the replay write-behind uses `SET … GET` (6.2). */
export const MIN_REDIS_VERSION: readonly [number, number] = [6, 2];

/** True when a `redis_version` string (`7.0.15`) is at least `MIN_REDIS_VERSION`. */
export function meetsMinimumRedis(version: string): boolean {
  const [major = NaN, minor = NaN] = version.split('.').map(Number);
  if (!Number.isInteger(major) || !Number.isInteger(minor)) return false;
  return major > MIN_REDIS_VERSION[0] || (major === MIN_REDIS_VERSION[0] && minor >= MIN_REDIS_VERSION[1]);
}

/** Reads the server's version; logs an error when it is too old. Undefined when Redis could not be asked. */
export async function checkRedisVersion(redis: Redis, log: Logger): Promise<{ version: string; ok: boolean } | undefined> {
  try {
    const version = /redis_version:([^\r\n]+)/.exec(await redis.info('server'))?.[1] ?? '';
    const ok = meetsMinimumRedis(version);
    if (!ok) {
      log.error({ redis_version: version || 'unknown', minimum: MIN_REDIS_VERSION.join('.') }, 'Redis is older than the signal tier needs (6.2): replay writes and leaves will fail');
    }
    return { version, ok };
  } catch (err) {
    log.warn({ err }, 'redis version not read');
    return undefined;
  }
}

/**
 * Checks the version each time the connection becomes ready (the server behind a URL may change
 * across a restart or failover), so an operator reads why replay writes fail instead of only
 * seeing them fail.
 */
export function watchRedisVersion(redis: Redis, log: Logger): void {
  redis.on('ready', () => void checkRedisVersion(redis, log));
  if (redis.status === 'ready') void checkRedisVersion(redis, log);
}
