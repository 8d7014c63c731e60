import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalUserRate, RedisUserRate, userRateKey } from '../../../signal/chat/user-rate.js';
import { dropRedisPrefix, redisClient, redisUrl, uniqueName } from '../../helpers/services.js';
import { until } from '../../helpers/poll.js';

const prefix = uniqueName('userrate');
const clients: Redis[] = [];

function node(): Redis {
  const r = new Redis(redisUrl(), { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  clients.push(r);
  return r;
}

afterAll(async () => {
  const r = redisClient();
  await dropRedisPrefix(r, prefix);
  r.disconnect();
  for (const c of clients) c.disconnect();
});

describe('per-user chat frame budget', () => {
  it('LocalUserRate: a bucket per user on this node, full again once forgotten', () => {
    const rate = new LocalUserRate(1, 3);
    expect([1, 2, 3, 4].map(() => rate.take('u', 1000))).toEqual([true, true, true, false]);
    expect(rate.take('v', 1000)).toBe(true);
    expect(rate.take('u', 2000)).toBe(true);
    rate.forget('u');
    expect(rate.take('u', 2000)).toBe(true);
  });

  it('RedisUserRate: one bucket per user shared by every node, refilled at the rate, expiring when idle', async () => {
    const a = new RedisUserRate(node(), prefix, 10, 4);
    const b = new RedisUserRate(node(), prefix, 10, 4);
    await until(() => clients.every((c) => c.status === 'ready'), 5000);
    const now = Date.now();
    const taken = await Promise.all([a.take('u', now), b.take('u', now), a.take('u', now), b.take('u', now), a.take('u', now), b.take('u', now)]);
    // Two connections: which node's frames come first is not fixed, how many pass is.
    expect(taken.filter(Boolean)).toHaveLength(4);
    expect(await a.take('w', now)).toBe(true);
    // 10 a second: 100 ms later one more token, from either node (a clock behind earns nothing).
    expect(await b.take('u', now - 50)).toBe(false);
    expect(await b.take('u', now + 100)).toBe(true);
    expect(await a.take('u', now + 100)).toBe(false);
    const ttl = await clients[0]!.pttl(userRateKey(prefix, 'u'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1400);
  });

  it('RedisUserRate: without Redis, this node\'s own bucket decides (frames are not held up)', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    down.on('error', () => undefined);
    const rate = new RedisUserRate(down, prefix, 1, 2);
    expect([rate.take('u', 0), rate.take('u', 0), rate.take('u', 0)]).toEqual([true, true, false]);
    down.disconnect();
  });
});
