import type { Redis } from 'ioredis';
import { connectApiRedis } from '../api-redis.js';
import { startApi, type ApiNode } from '../../api/main.js';
import { connectMongo, type MongoHandle } from '../../shared/runtime/mongo/connect.js';
import { createLogger } from '../../shared/runtime/logger.js';
import { loadKeyRing } from '../../shared/tokens/index.js';
import { forwardUpgrades } from '../../shared/runtime/upgrade-forward.js';
import { IpcSignalLink } from './link.js';
import type { ApiProcessData, FromApiProcess, ToApiProcess } from './protocol.js';

/**
 * The API tier of `all` mode in a child process of its own (event loop, heap, descriptors):
 * REST work (argon2, JSON parsing, validation) never delays a frame the signal tier relays, and
 * connections to the API port never take the signal port's descriptors. It starts from one
 * `init` message and stops on `stop`, or at once when its parent is gone (the IPC channel closes,
 * however the parent died).
 */
const send = (message: FromApiProcess): void => { if (process.connected) process.send!(message); };
let log = createLogger({ level: 'info' }).child({ process: 'api' });

let api: ApiNode | undefined;
let handle: MongoHandle | undefined;
let redis: Redis | undefined;
let link: IpcSignalLink | undefined;

async function start({ config, mongoUrl, linkToSignal }: ApiProcessData): Promise<void> {
  log = createLogger({ level: config.logLevel }).child({ node: config.nodeId, process: 'api' });
  // The parent loaded (and in development generated) the keys before starting this process.
  const keyRing = loadKeyRing(config.auth.keysDir, { generateIfEmpty: false });
  if (config.redis.url) {
    redis = await connectApiRedis(config.redis.url, log);
  }
  handle = await connectMongo(mongoUrl, config.mongo.database);
  link = linkToSignal ? new IpcSignalLink(send) : undefined;
  api = await startApi({
    config, log, db: handle.db, keyRing, ...(redis ? { redis } : {}),
    ...(link ? { signalLink: { presence: link, announcer: link, callCache: link }, chatLink: link } : {}),
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
  process.exit(0);
}

let stopping: Promise<void> | undefined;
process.on('message', (message: ToApiProcess) => {
  if (message.type === 'init') {
    start(message.data).catch((err: unknown) => {
      log.error({ err }, 'api process failed to start');
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    });
  } else if (message.type === 'stop') {
    stopping ??= stop();
  } else if (message.type === 'forward-chat') {
    if (api) forwardUpgrades(api.httpServer, '/v1/chat/ws', { host: message.host, port: message.port });
  } else {
    link?.answer(message);
  }
});
// The parent orchestrates shutdown (Ctrl-C reaches the whole process group): it sends `stop`.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => { stopping ??= stop(); });
// The parent is gone (even SIGKILLed): nothing may outlive it.
process.on('disconnect', () => process.exit(1));
