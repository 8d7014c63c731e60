import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Presence } from '../../../signal/calls/presence.js';
import { createLogger } from '../../../shared/runtime/logger.js';
import { until } from '../../helpers/poll.js';
import { dropRedisPrefix, redisClient, uniqueName } from '../../helpers/services.js';

const log = createLogger({ level: 'silent' });

describe('Presence on Redis', () => {
  let redis: Redis;
  let prefix: string;
  beforeAll(async () => {
    redis = redisClient();
    prefix = uniqueName('presence');
    await redis.ping();
  });
  afterAll(async () => {
    await dropRedisPrefix(redis, prefix);
    await redis.quit();
  });

  const key = (user: string): string => `${prefix}:presence:user:${user}`;

  it('writes a key per user on the first socket, deletes it after the last, and refreshes every key in batches', async () => {
    const presence = new Presence({ redis, prefix, nodeId: 'node-a', ttlMs: 9000, log });
    expect(presence.refreshMs).toBe(3000);
    presence.add('u1');
    presence.add('u1');
    await until(async () => (await redis.get(key('u1'))) === 'node-a', 5000, 'first socket writes the key');
    presence.remove('u1');
    expect(await redis.exists(key('u1'))).toBe(1);
    presence.remove('u1');
    // The release is a script: on a Redis that has not cached it yet, its EVAL follows a NOSCRIPT
    // answer, after this client's next command.
    await until(async () => (await redis.exists(key('u1'))) === 0, 5000, 'last socket deletes the key');

    const users = Array.from({ length: 2500 }, (_, i) => `bulk-${i}`);
    for (const user of users) presence.add(user);
    await until(async () => (await redis.exists(...users.map(key))) === users.length, 5000, 'first-socket writes');
    await redis.del(key('bulk-0'), key('bulk-2499'));
    expect(await redis.exists(...users.map(key))).toBe(users.length - 2);
    await presence.refresh();
    expect(await redis.exists(...users.map(key))).toBe(users.length);
    const ttls = await Promise.all([key('bulk-0'), key('bulk-1200'), key('bulk-2499')].map((k) => redis.pttl(k)));
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(8000);
    expect(await redis.get(key('bulk-1200'))).toBe('node-a');
  });

  it('holds the key while a signaling or a chat socket is open, counts only signaling sockets, and reports each transition once', async () => {
    const presence = new Presence({ redis, prefix, nodeId: 'node-a', ttlMs: 9000, log });
    const changes: Array<[string, boolean]> = [];
    presence.onChange = (user, online) => changes.push([user, online]);
    presence.add('mix', 'chat');
    presence.add('mix', 'signal');
    presence.add('mix', 'chat');
    expect(presence.count('mix')).toBe(1);
    expect(changes).toEqual([['mix', true]]);
    await until(async () => (await redis.get(key('mix'))) === 'node-a', 5000, 'first socket of either kind writes the key');
    presence.remove('mix', 'signal');
    presence.remove('mix', 'chat');
    expect(presence.count('mix')).toBe(0);
    expect(await presence.isOnline('mix')).toBe(true);
    await presence.refresh();
    expect(await redis.pttl(key('mix'))).toBeGreaterThan(8000);
    presence.remove('mix', 'chat');
    await until(() => changes.length === 2, 5000, 'offline reported after the release');
    expect(changes).toEqual([['mix', true], ['mix', false]]);
    expect(await redis.exists(key('mix'))).toBe(0);
    expect(await presence.isOnline('mix')).toBe(false);
  });

  it('leaves a key another node wrote since', async () => {
    const a = new Presence({ redis, prefix, nodeId: 'node-a', ttlMs: 9000, log });
    const b = new Presence({ redis, prefix, nodeId: 'node-b', ttlMs: 9000, log });
    a.add('u2');
    await until(async () => (await redis.get(key('u2'))) === 'node-a', 5000, 'node a writes');
    b.add('u2');
    await until(async () => (await redis.get(key('u2'))) === 'node-b', 5000, 'node b writes');
    // One release first, so Redis has the script cached and the next runs as one EVALSHA.
    a.add('warm-up');
    await until(async () => (await redis.exists(key('warm-up'))) === 1, 5000, 'warm-up key');
    a.remove('warm-up');
    await until(async () => (await redis.exists(key('warm-up'))) === 0, 5000, 'warm-up release');
    a.remove('u2');
    // Same connection as node a's release script (cached now), so this read is answered after it ran.
    expect(await redis.get(key('u2'))).toBe('node-b');
  });
});
