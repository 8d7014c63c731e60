import { existsSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { startApi, type ApiNode } from '../api/main.js';
import type { Config } from '../config/index.js';
import { MongoFundingStore, MongoMinuteStore } from '../shared/billing/index.js';
import { MongoCallStore } from '../shared/calls/index.js';
import { connectMongo, type MongoHandle } from '../shared/runtime/mongo/connect.js';
import { resolveMongo, type ResolvedMongo } from '../shared/runtime/mongo/resolve.js';
import { loadKeyRing, type KeySource } from '../shared/tokens/index.js';
import { startSignal, type SignalNode } from '../signal/main.js';
import { connectApiRedis } from './api-redis.js';
import { startApiProcess, type ApiProcess } from './api-process/host.js';

export type Mode = 'api' | 'signal' | 'all';

export interface Product {
  /** The API tier: in `all` mode a child process, so without its route table. */
  api?: Pick<ApiNode, 'port' | 'close'>;
  signal?: SignalNode;
  mongo?: ResolvedMongo;
  /** `all` mode: settles if the API process dies unasked (the process should then stop, non-zero). */
  died?: Promise<Error>;
  /** Graceful stop in dependency order; resolves when everything is closed. Idempotent. */
  stop(): Promise<void>;
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
    let apiProcess: ApiProcess | undefined;
    if (config.redis.url && mode === 'api') {
      redis = await connectApiRedis(config.redis.url, log);
      const r = redis;
      cleanups.push(() => r.disconnect());
    }
    const mongo = await resolveMongo({ url: config.mongo.url, dataDir: config.dataDir, log, ferretPostgresUrl: config.mongo.ferretPostgresUrl });
    product.mongo = mongo;
    cleanups.push(() => mongo.stop());
    log.info({ source: mongo.source, reason: mongo.reason }, 'database chosen');
    const handle: MongoHandle = await connectMongo(mongo.url, config.mongo.database);
    cleanups.push(() => handle.close());
    if (mode === 'api') {
      const api = await startApi({ config, log, db: handle.db, keyRing: keyRing!, ...(redis ? { redis } : {}) });
      product.api = api;
      cleanups.push(() => api.close());
    }
    if (mode === 'all') {
      // Its own process (event loop, heap, descriptors): REST work (argon2, JSON, validation)
      // never delays a relayed frame, and API connections never take the signal port's
      // descriptors. Without Redis its presence questions, call announcements and chat events come here.
      const api = apiProcess = await startApiProcess({ config, mongoUrl: mongo.url, log, linkToSignal: !config.redis.url, signal: () => product.signal });
      product.api = api;
      product.died = api.died;
      cleanups.push(() => api.close());
    }
    if (mode !== 'api') {
      const keys: KeySource = keyRing ? { jwks: () => keyRing.jwks() } : { jwksUrl: config.auth.jwksUrl! };
      product.signal = await startSignal({ config, log, keys, calls: new MongoCallStore(handle.db), minutes: new MongoMinuteStore(handle.db), funding: new MongoFundingStore(handle.db), chatDb: handle.db,
        apiFeedsCalls: mode === 'all' && !config.redis.url,
      });
      const signal = product.signal;
      cleanups.push(() => signal.close());
      // The spec's chat URL is on the API host: in `all` mode the API's port forwards it to the node.
      apiProcess?.forwardChat({ host: ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host, port: signal.port });
    }
    return product;
  } catch (err) {
    await product.stop();
    throw err;
  }
}
