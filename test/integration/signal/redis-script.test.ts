import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisScript } from '../../../signal/redis-script.js';
import { redisClient, uniqueName } from '../../helpers/services.js';

describe('RedisScript on Redis', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('runs by SHA, loading the script on first use and again after the server\'s cache is flushed', async () => {
    const marker = uniqueName('script');
    const script = new RedisScript(`return {KEYS[1], ARGV[1], '${marker}'}`);
    const sha = (await redis.script('LOAD', script.source)) as string;
    await redis.script('FLUSH');
    expect(await redis.script('EXISTS', sha)).toEqual([0]);

    expect(await script.run(redis, 1, 'k', 'v')).toEqual(['k', 'v', marker]);
    expect(await redis.script('EXISTS', sha)).toEqual([1]);
    expect(await script.run(redis, 1, 'k2', Buffer.from('v2'))).toEqual(['k2', 'v2', marker]);

    await redis.script('FLUSH');
    expect(await script.run(redis, 1, 'k3', 'v3')).toEqual(['k3', 'v3', marker]);
  });

  it('passes on a script error other than a missing script', async () => {
    const script = new RedisScript(`return redis.error_reply('BADTHING ${uniqueName('e')}')`);
    await expect(script.run(redis, 0)).rejects.toThrow(/BADTHING/);
  });
});
