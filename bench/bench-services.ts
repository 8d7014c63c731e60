import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { spawnRedis } from '../shared/runtime/redis-server.js';
import { commOf } from './proc-stats.js';

/** The pid of the Redis server at `url` when it runs on this machine (`INFO server`), else undefined. */
export async function redisServerPid(url: string): Promise<number | undefined> {
  if (!/^redis:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url)) return undefined;
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => undefined);
  try {
    const pid = /process_id:(\d+)/.exec(await redis.info('server'))?.[1];
    // A Redis in a container reports its own namespace's pid: only trust one that is redis-server here.
    return pid && commOf(Number(pid)) === 'redis-server' ? Number(pid) : undefined;
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** `REDIS_URL`, else the server on 127.0.0.1:6379, else a spawned `redis-server` (with its `stop`). */
export async function resolveRedis(): Promise<{ url: string; source: string; stop?: () => Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, source: 'REDIS_URL' };
  const url = 'redis://127.0.0.1:6379';
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return { url, source: 'local server 127.0.0.1:6379' };
  } catch {
    const spawned = await spawnRedis();
    return { url: spawned.url, source: 'spawned redis-server', stop: () => spawned.stop() };
  } finally {
    probe.disconnect();
  }
}

/** GIN indexes serving FerretDB's `_jsonb->'_id' @> …` filters on the bench's calls, transitions and host-claims tables; returns the tables indexed. */
export function addIdIndexes(postgresUrl: string, schema: string): string[] {
  const psql = (sql: string) => execFileSync('psql', [postgresUrl, '-v', 'ON_ERROR_STOP=1', '-Atc', sql], { encoding: 'utf8' }).trim();
  const tables = psql(`select table_name from information_schema.tables where table_schema = '${schema}' and (table_name like 'calls\\_%' or table_name like 'call\\_transitions\\_%' or table_name like 'host\\_claim%')`)
    .split('\n').filter((t) => /^[a-z0-9_]+$/.test(t));
  for (const table of tables) psql(`create index if not exists ${table}_bench_id_gin on "${schema}"."${table}" using gin ((_jsonb->'_id') jsonb_path_ops)`);
  return tables;
}
