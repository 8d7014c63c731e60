import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { startApi, type ApiNode } from '../../api/main.js';
import { connectMongo, type MongoHandle } from '../../shared/runtime/mongo/connect.js';
import { createLogger } from '../../shared/runtime/logger.js';
import { loadKeyRing } from '../../shared/tokens/index.js';
import { ThreadSignalLink } from './link.js';
import type { ApiThreadData, FromApiThread, ToApiThread } from './protocol.js';

/**
 * The API tier of `all` mode on its own thread (and event loop): REST work (argon2, JSON
 * parsing, validation) never delays a frame the signal tier on the main thread relays.
 */
const port = parentPort!;
const { config, mongoUrl, linkToSignal } = workerData as ApiThreadData;
const log = createLogger({ level: config.logLevel }).child({ node: config.nodeId, thread: 'api' });
const send = (message: FromApiThread): void => port.postMessage(message);

let api: ApiNode | undefined;
let handle: MongoHandle | undefined;
let redis: Redis | undefined;

async function start(): Promise<void> {
  // The main thread loaded (and in development generated) the keys before starting this thread.
  const keyRing = loadKeyRing(config.auth.keysDir, { generateIfEmpty: false });
  if (config.redis.url) {
    redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
    await redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable at start; will retry'));
  }
  handle = await connectMongo(mongoUrl, config.mongo.database);
  const link = linkToSignal ? new ThreadSignalLink(port) : undefined;
  api = await startApi({
    config, log, db: handle.db, keyRing, ...(redis ? { redis } : {}),
    ...(link ? { signalLink: { presence: link, announcer: link } } : {}),
  });
  send({ type: 'listening', port: api.port });
}

async function stop(): Promise<void> {
  try {
    await api?.close();
  } catch (err) {
    log.error({ err }, 'error during api shutdown');
  }
  redis?.disconnect();
  await handle?.close().catch(() => undefined);
  send({ type: 'stopped' });
  port.close();
}

port.on('message', (message: ToApiThread) => {
  if (message.type === 'stop') void stop();
});
start().catch(async (err: unknown) => {
  log.error({ err }, 'api thread failed to start');
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  redis?.disconnect();
  await handle?.close().catch(() => undefined);
  port.close();
});
