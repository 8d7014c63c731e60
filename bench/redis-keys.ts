import { Redis } from 'ioredis';

/** Deletes every key under `<prefix>:` (SCAN + UNLINK, for at most a minute); returns how many. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    let cursor = '0';
    const deadline = Date.now() + 60000;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0' && Date.now() < deadline);
  } finally {
    redis.disconnect();
  }
  return deleted;
}
