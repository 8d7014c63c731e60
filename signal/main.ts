import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { MinuteRecorder, RedisMinuteOutbox, type FundingSource, type MinuteSink } from '../shared/billing/index.js';
import {
  CachedCallStore, DeadlineCallStore, MemoryCallCache, RedisCallCache, type Call, type CallAnnouncement, type CallCache, type CallStore,
} from '../shared/calls/index.js';
import { assertIceConfig } from '../shared/ice/turn.js';
import { CLOSE_CODES } from '../shared/protocol/close-codes.js';
import type { KeySource } from '../shared/tokens/index.js';
import { createSyncTokenVerifier } from '../shared/tokens/index.js';
import type { Db } from 'mongodb';
import type { ChatEvent } from '../shared/chat/events.js';
import { createChatRoute } from './chat/index.js';
import { MemoryBroker, MemoryNodeRegistry, RedisBroker, RedisNodeRegistry, type Broker, type NodeRegistry } from './broker/index.js';
import type { RoomDirectory } from './calls/directory.js';
import { CallEvents } from './calls/events.js';
import { MemoryDirectory } from './calls/memory-directory.js';
import { Presence } from './calls/presence.js';
import { RedisDirectory } from './calls/redis-directory.js';
import { NodeLink } from './calls/node-link.js';
import { Rooms } from './calls/rooms.js';
import { SignalMetrics } from './metrics.js';
import { watchRedisVersion } from './redis-version.js';
import { SignalServer } from './server/app.js';
import { pingOnlyRoute } from './server/ping-route.js';
import { RemoteJwks } from './server/remote-jwks.js';
import { loadUws } from './server/uws.js';
import { SignalRoute } from './session/signal-route.js';
import { OWN_DESCRIPTORS, openFilesLimit, pendingCapacity, socketCapacity } from './socket-capacity.js';
import {
  MINUTE_ADOPT_AFTER_MS, MINUTE_RETRY_MS, MINUTES_MAX_QUEUED, REDIS_COMMAND_TIMEOUT_MS, TICK_DEFER_SWEEPS, redisRetryDelayMs, replayBufferTtlMs, tickCatchUpMs, tickClaimTtlMs, uwsIdleTimeoutSec,
} from './timings.js';

export interface SignalNode {
  port: number;
  broker: Broker;
  /** Internal call events (state changes, billing ticks) for in-process consumers. */
  events: CallEvents;
  metrics: SignalMetrics;
  /** Applies a call state announced in-process (the API of an `all` process without Redis). */
  applyCallState(announcement: CallAnnouncement): void;
  /** Caches a call's latest state for joins (the API of an `all` process without Redis, before it announces). */
  cacheCall(call: Call): void;
  /** True while `userId` has a live signaling or chat socket on this node (presence for an in-process API, the rule of the presence key). */
  isUserOnline(userId: string): boolean;
  /** Hands a chat event to this node's sockets of `userIds` (the API of an `all` process without Redis). */
  deliverChat(userIds: readonly string[], event: ChatEvent): void;
  /**
   * Drain: stop accepting, send `reconnect` and close every socket with SERVER_SHUTDOWN (the
   * peers enter their grace period and resume on another node), flush replay buffers, release
   * Redis. No call ends because of it. Idempotent.
   */
  close(): Promise<void>;
}

export interface SignalDeps {
  config: Config;
  log: Logger;
  keys: KeySource;
  /** The calls collection (shared with the API); transitions are atomic there. */
  calls: CallStore;
  /** Where billing minutes go (the minute store, shared/billing); none: ticks stay in-process events only. */
  minutes?: MinuteSink;
  /** Paid minutes left per call (`call_funding`, shared/billing); none: calls never end for lack of funds. */
  funding?: FundingSource;
  /** Metrics with process defaults (off when several nodes share one process, as in tests). */
  defaultMetrics?: boolean;
  /** The database holding chat (shared with the API); without it `/v1/chat/ws` only answers `ping`. */
  chatDb?: Db;
  /**
   * Without Redis: an API in the same product hands this node every call it creates or moves
   * (`cacheCall`), so joins may read them from memory. A node without Redis and without such an
   * API reads the store at every join (nothing would tell it of the API's transitions).
   */
  apiFeedsCalls?: boolean;
}

/**
 * Starts a signal node: picks the broker, node registry and room directory (Redis or in-process)
 * once, here. Throws a TypeError for TURN URLs without a secret.
 */
export async function startSignal({ config, log: rootLog, keys, calls, minutes, funding, defaultMetrics = true, chatDb, apiFeedsCalls = false }: SignalDeps): Promise<SignalNode> {
  const log = rootLog.child({ component: 'signal', node: config.nodeId });
  const s = config.signal;
  const tickClaimTtl = tickClaimTtlMs(s.tickMs);
  assertIceConfig(config.calls.ice);
  const uws = loadUws();
  const keySet = 'jwksUrl' in keys ? new RemoteJwks({ url: keys.jwksUrl, log }) : keys;
  if (keySet instanceof RemoteJwks) await keySet.refresh();
  const verifier = createSyncTokenVerifier(keySet, config.auth.issuer);
  const { prefix } = config.redis;
  let redis: Redis | undefined;
  let broker: Broker;
  let registry: NodeRegistry;
  let directory: RoomDirectory;
  let callCache: CallCache | undefined;
  if (config.redis.url) {
    redis = new Redis(config.redis.url, {
      maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      retryStrategy: redisRetryDelayMs, connectionName: `${prefix}:${config.nodeId}:state`,
    });
    redis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
    watchRedisVersion(redis, log);
    await redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable at start; will retry'));
    broker = new RedisBroker({ nodeId: config.nodeId, prefix, url: config.redis.url, log });
    registry = new RedisNodeRegistry({ nodeId: config.nodeId, prefix, redis, heartbeatMs: s.heartbeatMs, nodeTtlMs: s.nodeTtlMs, log });
    directory = new RedisDirectory({
      redis, prefix, nodeId: config.nodeId, replayLimit: s.replayBuffer,
      bufferTtlMs: replayBufferTtlMs(s.reconnectGraceMs), tickTtlMs: tickClaimTtl,
    });
    callCache = new RedisCallCache(redis, prefix);
  } else {
    broker = new MemoryBroker({ nodeId: config.nodeId, prefix, log });
    registry = new MemoryNodeRegistry({ nodeId: config.nodeId });
    directory = new MemoryDirectory(s.replayBuffer);
    if (apiFeedsCalls) callCache = new MemoryCallCache();
  }
  await registry.start().catch((err: unknown) => log.warn({ err }, 'node registry not started; heartbeats begin when Redis is back'));

  const events = new CallEvents(log);
  // Billing input: every tick becomes a durable minute record (docs/payments.md, "Exactly once").
  // In a cluster each minute is parked in Redis until stored: a node killed while MongoDB is down loses none.
  const minuteRecorder = minutes ? new MinuteRecorder({
    sink: minutes, log: log.child({ component: 'billing-minutes' }), retryMs: MINUTE_RETRY_MS, maxQueued: MINUTES_MAX_QUEUED,
    ...(redis ? { outbox: new RedisMinuteOutbox(redis, prefix), adoptAfterMs: MINUTE_ADOPT_AFTER_MS } : {}),
  }) : undefined;
  if (minuteRecorder) events.on('tick', (tick) => minuteRecorder.record(tick));
  const presence = new Presence({ ...(redis ? { redis } : {}), prefix, nodeId: config.nodeId, ttlMs: s.presenceTtlMs, log });
  let route: SignalRoute | undefined;
  let rooms: Rooms | undefined;
  const metrics = new SignalMetrics({
    sockets: () => route?.size ?? 0, callsByStatus: () => rooms?.callsByStatus() ?? {}, pendingConnections: () => server?.pendingConnections ?? 0,
  }, defaultMetrics);
  // Every transition this node makes is written to the call cache before it is announced.
  const durable = new DeadlineCallStore(calls, s.storeTimeoutMs);
  const store = callCache
    ? new CachedCallStore(durable, callCache, { onFailure: (err, operation, call) => log.debug({ err, operation, call }, 'call cache unavailable') })
    : undefined;
  rooms = new Rooms({
    nodeId: config.nodeId, prefix, store: store ?? durable, ...(store ? { lookup: store } : {}), directory, broker, events, metrics, log,
    ...(funding ? { funding } : {}),
    settings: {
      reconnectGraceMs: s.reconnectGraceMs, replayBuffer: s.replayBuffer, tickMs: s.tickMs, ice: config.calls.ice,
      maxDurationSec: config.calls.maxDurationSec,
      tickCatchUpMs: tickCatchUpMs(s, tickClaimTtl),
      tickDeferMs: TICK_DEFER_SWEEPS * s.sweepMs,
      mediaReportGraceMs: s.mediaReportGraceMs,
    },
  });
  const roomService = rooms;
  route = new SignalRoute({
    verifier, rooms: roomService, presence, metrics, log,
    limits: {
      maxFrameBytes: s.maxFrameBytes, ratePerSec: s.ratePerSec, rateBurst: s.rateBurst, maxSocketsPerUser: s.maxSocketsPerUser,
      joinTimeoutMs: s.joinTimeoutMs, idleTimeoutMs: s.idleTimeoutMs, maxBufferedBytes: s.maxBufferedBytes, maxViolations: s.maxViolations,
      reauthLeadMs: s.reauthLeadMs, reauthGraceMs: s.reauthGraceMs, timerMs: s.timerMs,
    },
  });
  const signalRoute = route;
  const chatRoute = chatDb ? await createChatRoute({ db: chatDb, broker, verifier, config, log, presence, ...(redis ? { redis } : {}) }) : undefined;
  if (chatRoute) presence.onChange = (userId, online) => void chatRoute.presenceChanged(userId, online);

  const link = new NodeLink({ broker, nodeId: config.nodeId, rooms: roomService, nodeTtlMs: s.nodeTtlMs, log });
  const subscribing = link.start();
  if (!config.redis.url) await subscribing;

  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    roomService.sweep(() => registry.aliveNodes()).catch((err: unknown) => log.warn({ err }, 'sweep failed')).finally(() => { sweeping = false; });
  }, s.sweepMs);
  sweeper.unref();
  const flusher = setInterval(() => {
    roomService.flushReplay().catch((err: unknown) => log.warn({ err }, 'replay flush failed'));
  }, s.replayFlushMs);
  flusher.unref();
  const presenceTimer = setInterval(() => void presence.refresh(), presence.refreshMs);
  presenceTimer.unref();

  const uwsIdleSec = uwsIdleTimeoutSec(s.idleTimeoutMs);
  const fileLimit = openFilesLimit();
  const maxSockets = socketCapacity(s.maxSockets, fileLimit);
  const maxSocketsShown = Number.isFinite(maxSockets) ? maxSockets : null;
  const maxPending = pendingCapacity(s.maxPendingConnections, fileLimit);
  if (fileLimit !== undefined && maxSockets > fileLimit - OWN_DESCRIPTORS) {
    const why = s.maxSockets > 0
      ? `SIGNAL_MAX_SOCKETS leaves fewer than ${OWN_DESCRIPTORS} of the open-file limit to the node itself; raise the limit (ulimit -Hn, LimitNOFILE) or lower SIGNAL_MAX_SOCKETS`
      : `the open-file limit leaves no room for sockets beyond the node's own ${OWN_DESCRIPTORS} descriptors; raise it (ulimit -Hn, LimitNOFILE)`;
    log.warn({ max_sockets: maxSockets, open_files_limit: fileLimit }, why);
  }
  const server: SignalServer = new SignalServer({
    uws, log, host: config.host, port: s.port, maxSockets,
    onUpgradeRefused: (reason) => metrics.upgradesRefused.inc({ reason }),
    pending: { max: maxPending, handshakeTimeoutMs: s.handshakeTimeoutMs },
    onConnectionShed: (reason) => metrics.connectionsShed.inc({ reason }),
    limits: { maxPayloadLength: s.maxFrameBytes * 2, idleTimeoutSec: uwsIdleSec, maxBackpressure: s.maxBufferedBytes },
    routes: {
      '/signal/ws': signalRoute,
      '/ws': signalRoute,
      '/v1/chat/ws': chatRoute ?? pingOnlyRoute((t) => verifier.verifyAccess(t), log),
    },
    http: [
      { method: 'get', path: '/health', handle: () => ({ status: 200, contentType: 'application/json', body: JSON.stringify({ success: true, data: { status: 'ok', node: config.nodeId } }) }) },
      {
        method: 'get', path: '/ready',
        handle: () => {
          // A full node is up but must get no new connections: 503 takes it out of a load balancer's rotation.
          const checks = { redis: config.redis.url ? broker.status : 'not configured', sockets: { open: server.socketCount, max: maxSocketsShown } };
          if (server.full) {
            const error = { code: 'service_unavailable', message: 'Node is full; connect to another node.', details: { status: 'full', node: config.nodeId, checks } };
            return { status: 503, contentType: 'application/json', body: JSON.stringify({ error }) };
          }
          const status = broker.status !== 'up' ? 'degraded' : 'ready';
          return { status: 200, contentType: 'application/json', body: JSON.stringify({ success: true, data: { status, node: config.nodeId, checks } }) };
        },
      },
      { method: 'get', path: '/metrics', handle: async () => ({ status: 200, contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }) },
    ],
  });
  const port = await server.listen();
  log.info({ port, host: config.host, broker: config.redis.url ? 'redis' : 'memory', max_sockets: maxSocketsShown, max_pending_connections: maxPending, open_files_limit: fileLimit ?? null }, 'signal listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    broker,
    events,
    metrics,
    applyCallState: (announcement) => roomService.applyAnnouncement(announcement),
    cacheCall: (call) => void callCache?.put(call),
    isUserOnline: (userId) => presence.holds(userId),
    deliverChat: (userIds, event) => chatRoute?.deliver(userIds, event),
    close: () => (closing ??= (async () => {
      server.stopAccepting();
      signalRoute.drain();
      chatRoute?.drain();
      server.close(CLOSE_CODES.SERVER_SHUTDOWN, 'server shutting down');
      clearInterval(flusher);
      await roomService.settle();
      await minuteRecorder?.close();
      clearInterval(sweeper);
      clearInterval(presenceTimer);
      signalRoute.stop();
      chatRoute?.stop();
      if (keySet instanceof RemoteJwks) keySet.close();
      link.close();
      store?.close();
      await registry.close();
      await broker.close();
      if (redis) redis.disconnect();
      log.info('signal stopped');
    })()),
  };
}
