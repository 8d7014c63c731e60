import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { startApi, type ApiDeps, type ApiNode } from '../api/main.js';
import { InProcessCallAnnouncer } from '../api/services/calls/announcer.js';
import { InProcessChatNotifier } from '../api/services/chat/notifier.js';
import { forwardUpgrades } from '../shared/runtime/upgrade-forward.js';
import type { Config } from '../config/index.js';
import { MongoCallStore } from '../shared/calls/index.js';
import { connectMongo, type MongoHandle } from '../shared/runtime/mongo/connect.js';
import { resolveMongo, type ResolvedMongo } from '../shared/runtime/mongo/resolve.js';
import { loadKeyRing, type KeySource } from '../shared/tokens/index.js';
import { startSignal, type SignalNode } from '../signal/main.js';

export type Mode = 'api' | 'signal' | 'all';

export interface Product {
  api?: ApiNode;
  signal?: SignalNode;
  mongo?: ResolvedMongo;
  /** Graceful stop in dependency order; resolves when everything is closed. Idempotent. */
  stop(): Promise<void>;
}

/** Without Redis the API reaches the signal node of its own process directly (started after it). */
function inProcessSignalLink(product: Product): NonNullable<ApiDeps['signalLink']> {
  return {
    presence: { isOnline: async (userId) => product.signal?.isUserOnline(userId) ?? false },
    announcer: new InProcessCallAnnouncer((announcement) => product.signal?.applyCallState(announcement)),
  };
}

/** Starts the product in `mode` on `config`: database resolution, keys, API and/or signal. */
export async function startProduct(mode: Mode, config: Config, log: Logger): Promise<Product> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const product: Product = { stop: async () => undefined };
  let stopping: Promise<void> | undefined;
  product.stop = () => (stopping ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log.error({ err }, 'error during shutdown');
      }
    }
  })());
  try {
    const keyRing = mode !== 'signal' || existsSync(config.auth.keysDir) || !config.auth.jwksUrl
      ? loadKeyRing(config.auth.keysDir, { generateIfEmpty: config.env !== 'production' })
      : undefined;
    let redis: Redis | undefined;
    if (config.redis.url && mode !== 'signal') {
      redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
      redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
      await redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable at start; will retry'));
      const r = redis;
      cleanups.push(() => r.disconnect());
    }
    const mongo = await resolveMongo({ url: config.mongo.url, dataDir: config.dataDir, log, ferretPostgresUrl: config.mongo.ferretPostgresUrl });
    product.mongo = mongo;
    cleanups.push(() => mongo.stop());
    log.info({ source: mongo.source, reason: mongo.reason }, 'database chosen');
    const handle: MongoHandle = await connectMongo(mongo.url, config.mongo.database);
    cleanups.push(() => handle.close());
    if (mode !== 'signal') {
      const signalLink = mode === 'all' && !redis ? inProcessSignalLink(product) : undefined;
      const chatLink = mode === 'all' && !redis ? new InProcessChatNotifier((ids, event) => product.signal?.deliverChat(ids, event)) : undefined;
      product.api = await startApi({ config, log, db: handle.db, keyRing: keyRing!, ...(redis ? { redis } : {}), ...(signalLink ? { signalLink } : {}), ...(chatLink ? { chatLink } : {}) });
      const api = product.api;
      cleanups.push(() => api.close());
    }
    if (mode !== 'api') {
      const keys: KeySource = keyRing ? { jwks: () => keyRing.jwks() } : { jwksUrl: config.auth.jwksUrl! };
      product.signal = await startSignal({ config, log, keys, calls: new MongoCallStore(handle.db), chatDb: handle.db });
      const signal = product.signal;
      cleanups.push(() => signal.close());
      // The spec's chat URL is on the API host: in one process, the API's port forwards it to the node.
      if (product.api) cleanups.push(forwardUpgrades(product.api.httpServer, '/v1/chat/ws', { host: ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host, port: signal.port }));
    }
    return product;
  } catch (err) {
    await product.stop();
    throw err;
  }
}
