import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkRedisVersion, meetsMinimumRedis, watchRedisVersion } from '../../../signal/redis-version.js';
import { freePort } from '../../../shared/runtime/net.js';
import { capturingLogger } from '../../helpers/log-capture.js';
import { startOldRedisServer } from '../../helpers/old-redis-server.js';
import { until } from '../../helpers/poll.js';
import { redisClient } from '../../helpers/services.js';

/** What `log` wrote, as JSON objects. */
const entries = (lines: string[]): Array<Record<string, unknown>> => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

/** The error-level (50) entries among `lines`. */
const errors = (lines: string[]): Array<Record<string, unknown>> => entries(lines).filter((l) => l['level'] === 50);

const TOO_OLD = {
  msg: 'Redis is older than the signal tier needs (6.2): replay writes and leaves will fail',
  redis_version: '6.0.16',
  minimum: '6.2',
};

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
    expect(errors(lines)).toEqual([]);
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

describe('Redis version check against a server older than 6.2', () => {
  let server: Awaited<ReturnType<typeof startOldRedisServer>>;
  const clients: Redis[] = [];
  const connect = (options: { lazyConnect?: boolean } = {}): Redis => {
    const client = new Redis(server.url, { ...options, maxRetriesPerRequest: 0, retryStrategy: () => null });
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    server = await startOldRedisServer();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    await server.close();
  });

  it('reports the version as too old and logs one error naming it', async () => {
    const { log, lines } = capturingLogger();
    expect(await checkRedisVersion(connect(), log)).toEqual({ version: '6.0.16', ok: false });
    const logged = errors(lines);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject(TOO_OLD);
  });

  it('watchRedisVersion logs the error once the client becomes ready', async () => {
    const { log, lines } = capturingLogger();
    const client = connect({ lazyConnect: true });
    watchRedisVersion(client, log);
    expect(errors(lines)).toEqual([]);
    await client.connect();
    await until(() => errors(lines).length > 0, 5000, 'the too-old error after ready');
    const logged = errors(lines);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject(TOO_OLD);
  });
});
