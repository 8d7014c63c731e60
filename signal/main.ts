import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { CLOSE_CODES } from '../shared/protocol/close-codes.js';
import type { KeySource } from '../shared/tokens/index.js';
import { createTokenVerifier } from '../shared/tokens/index.js';
import { MemoryBroker, MemoryNodeRegistry, RedisBroker, RedisNodeRegistry, type Broker, type NodeRegistry } from './broker/index.js';
import { SignalServer } from './server/app.js';
import { pingOnlyRoute } from './server/ping-route.js';
import { loadUws } from './server/uws.js';

export interface SignalNode {
  port: number;
  broker: Broker;
  /** Stop accepting, close sockets with SERVER_SHUTDOWN (reconnect elsewhere), release Redis. Idempotent. */
  close(): Promise<void>;
}

export interface SignalDeps {
  config: Config;
  log: Logger;
  keys: KeySource;
}

/** Starts a signal node: picks the broker and node registry (Redis or in-process) once, here. */
export async function startSignal({ config, log: rootLog, keys }: SignalDeps): Promise<SignalNode> {
  const log = rootLog.child({ component: 'signal' });
  const uws = loadUws({ allowFallback: config.signal.allowFallback, log });
  const verifier = createTokenVerifier(keys, config.auth.issuer);
  const { prefix } = config.redis;
  let redis: Redis | undefined;
  let broker: Broker;
  let registry: NodeRegistry;
  if (config.redis.url) {
    redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2, enableOfflineQueue: false, lazyConnect: true });
    redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
    await redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable at start; will retry'));
    broker = new RedisBroker({ nodeId: config.nodeId, prefix, url: config.redis.url, log });
    registry = new RedisNodeRegistry({ nodeId: config.nodeId, prefix, redis, heartbeatMs: config.signal.heartbeatMs, nodeTtlMs: config.signal.nodeTtlMs, log });
  } else {
    broker = new MemoryBroker({ nodeId: config.nodeId, prefix, log });
    registry = new MemoryNodeRegistry({ nodeId: config.nodeId });
  }
  await registry.start();

  const server = new SignalServer({
    uws, log, host: config.host, port: config.signal.port,
    limits: { maxPayloadLength: 64 * 1024, idleTimeoutSec: 60, maxBackpressure: 1024 * 1024 },
    routes: {
      '/signal/ws': pingOnlyRoute((t) => verifier.verifySignaling(t), log),
      '/ws': pingOnlyRoute((t) => verifier.verifySignaling(t), log),
      '/v1/chat/ws': pingOnlyRoute((t) => verifier.verifyAccess(t), log),
    },
    http: [
      { method: 'get', path: '/health', handle: () => ({ status: 200, contentType: 'application/json', body: JSON.stringify({ success: true, data: { status: 'ok', node: config.nodeId } }) }) },
      {
        method: 'get', path: '/ready',
        handle: () => {
          const degraded = broker.status !== 'up';
          return { status: 200, contentType: 'application/json', body: JSON.stringify({ success: true, data: { status: degraded ? 'degraded' : 'ready', checks: { redis: config.redis.url ? broker.status : 'not configured' } } }) };
        },
      },
    ],
  });
  const port = await server.listen();
  log.info({ port, host: config.host, broker: config.redis.url ? 'redis' : 'memory' }, 'signal listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    broker,
    close: () => (closing ??= (async () => {
      server.close(CLOSE_CODES.SERVER_SHUTDOWN, 'server shutting down');
      await registry.close();
      await broker.close();
      if (redis) redis.disconnect();
      log.info('signal stopped');
    })()),
  };
}
