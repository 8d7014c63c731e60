import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MongoClient, type Db } from 'mongodb';
import { inject } from 'vitest';

/** A name unique to this test run, for database names and Redis key prefixes. */
export function uniqueName(label: string): string {
  return `t_${label.replace(/[^A-Za-z0-9]/g, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
}

export function mongoUrl(): string {
  return inject('mongoUrl');
}

export function redisUrl(): string {
  return inject('redisUrl');
}

/** A fresh database on the shared test server, dropped by `drop()`. */
export async function freshDb(label: string): Promise<{ client: MongoClient; db: Db; name: string; drop(): Promise<void> }> {
  const client = new MongoClient(mongoUrl());
  await client.connect();
  const name = uniqueName(label);
  const db = client.db(name);
  return {
    client,
    db,
    name,
    async drop() {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}

/** A Redis client on the shared test server; callers use their own key prefix and clean it. */
export function redisClient(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: 2, lazyConnect: false });
}

/** Deletes every key under `prefix:`, leaving other tests' keys alone. */
export async function dropRedisPrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}
