import { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import { startApi, type ApiNode } from '../../api/main.js';
import type { Config } from '../../config/index.js';
import { createLogger } from '../../shared/runtime/logger.js';
import { connectMongo } from '../../shared/runtime/mongo/connect.js';
import { loadKeyRing, type KeyRing } from '../../shared/tokens/index.js';
import { testConfig } from './config.js';
import { dropRedisPrefix, mongoUrl, redisUrl, uniqueName } from './services.js';

export interface TestApi {
  url: string;
  config: Config;
  db: Db;
  keyRing: KeyRing;
  redis?: Redis;
  api: Pick<ApiNode, 'port' | 'close' | 'routes'>;
  /** Stops the API, drops the database and the Redis prefix. */
  stop(): Promise<void>;
}

/**
 * Starts the API in-process on a fresh database of the shared test server, or of `mongoUrl` (and,
 * with `withRedis`, the shared test Redis under a unique prefix).
 */
export async function startTestApi(options: { env?: Record<string, string>; withRedis?: boolean; mongoUrl?: string } = {}): Promise<TestApi> {
  const database = uniqueName('api');
  const prefix = uniqueName('rp');
  const url = options.mongoUrl ?? mongoUrl();
  const config = testConfig({
    MONGO_URL: url, MONGO_DB: database, REDIS_PREFIX: prefix,
    ...(options.withRedis ? { REDIS_URL: redisUrl() } : {}),
    ...options.env,
  });
  const log = createLogger({ level: config.logLevel });
  const mongo = await connectMongo(url, database);
  const keyRing = loadKeyRing(config.auth.keysDir, { generateIfEmpty: true });
  const redis = config.redis.url ? new Redis(config.redis.url, { maxRetriesPerRequest: 1 }) : undefined;
  const api = await startApi({ config, log, db: mongo.db, keyRing, ...(redis ? { redis } : {}) });
  return {
    url: `http://127.0.0.1:${api.port}`,
    config, db: mongo.db, keyRing, api,
    ...(redis ? { redis } : {}),
    async stop() {
      await api.close();
      await mongo.db.dropDatabase().catch(() => undefined);
      await mongo.close();
      if (redis) {
        await dropRedisPrefix(redis, prefix);
        redis.disconnect();
      }
    },
  };
}
