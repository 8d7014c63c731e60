import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRedisVersion, meetsMinimumRedis } from '../../../signal/redis-version.js';
import { freePort } from '../../../shared/runtime/net.js';
import { capturingLogger } from '../../helpers/log-capture.js';
import { redisClient } from '../../helpers/services.js';

/** What `log` wrote, as JSON objects. */
const entries = (lines: string[]): Array<Record<string, unknown>> => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('Redis version check', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('accepts 6.2 and later, refuses older or unreadable versions', () => {
    for (const v of ['6.2.0', '6.2.14', '7.0.15', '7.2.4', '8.0.0', '10.0.1']) expect(meetsMinimumRedis(v), v).toBe(true);
    for (const v of ['6.0.16', '5.0.14', '2.8.0', '', 'x.y', '6']) expect(meetsMinimumRedis(v), v).toBe(false);
  });

  it('reads the real server\'s version and logs no error for it', async () => {
    const { log, lines } = capturingLogger();
    const expected = /redis_version:([^\r\n]+)/.exec(await redis.info('server'))?.[1];
    expect(await checkRedisVersion(redis, log)).toEqual({ version: expected, ok: true });
    expect(entries(lines).filter((l) => l['level'] === 50)).toEqual([]);
  });

  it('answers undefined, without throwing, when Redis cannot be asked', async () => {
    const { log, lines } = capturingLogger();
    const port = await freePort();
    const gone = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    gone.on('error', () => undefined);
    expect(await checkRedisVersion(gone, log)).toBeUndefined();
    expect(entries(lines).some((l) => l['msg'] === 'redis version not read' && l['level'] === 40)).toBe(true);
    gone.disconnect();
  });
});
