import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { RedisCallCache, type CallCacheWriter } from '../shared/calls/index.js';
import { createTokenVerifier, type KeyRing } from '../shared/tokens/index.js';
import { API_VERSION, createHttpApp } from './http/app.js';
import { bearerAuthenticator } from './http/bearer.js';
import { listen } from './http/listen.js';
import { ApiMetrics } from './http/metrics.js';
import { RateLimiters } from './http/rate-limit.js';
import type { RouteSpec } from './http/route.js';
import { buildOpenApi } from './openapi/build.js';
import { GridFsAvatarStorage } from './repositories/avatars.js';
import { IdempotencyKeysRepository } from './repositories/idempotency-keys.js';
import { UsersRepository } from './repositories/users.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { callRoutes } from './routes/calls.js';
import { callRecordRoutes } from './routes/call-records.js';
import { chatRoutes } from './routes/chat.js';
import { chatImageRoutes } from './routes/chat-images.js';
import { chatFollowRoutes } from './routes/chat-follows.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { jwksRoutes } from './routes/jwks.js';
import { linkRoutes } from './routes/links.js';
import { metricsRoutes } from './routes/metrics.js';
import { paymentMethodRoutes } from './routes/payment-methods.js';
import { paymentRoutes } from './routes/payments.js';
import { connectRoutes } from './routes/payments-connect.js';
import { paymentWebhookRoutes } from './routes/payments-webhooks.js';
import { searchRoutes } from './routes/search.js';
import { userRoutes } from './routes/users.js';
import { AdminUsersService } from './services/admin/admin-users.js';
import { createAuthServices } from './services/auth/index.js';
import { createCallServices } from './services/calls/index.js';
import type { CallBilling } from './services/calls/calls-service.js';
import { createChatServices } from './services/chat/index.js';
import { RedisChatNotifier } from './services/chat/notifier.js';
import { NoChatNotifier, type ChatNotifier } from '../shared/chat/events.js';
import { NoCallAnnouncer, RedisCallAnnouncer, type CallAnnouncer } from './services/calls/announcer.js';
import { NoHostPresence, RedisHostPresence, type HostPresence } from './services/calls/presence.js';
import { createPaymentServices } from './services/payments/index.js';
import { reversalWebhookHandler } from './services/payments/reversal-webhooks.js';
import { createBilling } from './services/payments/billing.js';
import { createMailer } from './services/mail/index.js';
import { CallRecordsService } from './services/payments/call-records.js';
import { UsageExportService } from './services/payments/usage-export.js';
import type { ReadinessProbe } from './services/readiness.js';

export interface ApiDeps {
  config: Config;
  log: Logger;
  db: Db;
  redis?: Redis;
  keyRing: KeyRing;
  /**
   * How the API sees and tells the signal tier when there is no Redis between them (a signal
   * node in the same process). Default: through Redis when configured, else nothing.
   */
  signalLink?: SignalLink;
  /** How chat events reach a signal node in the same process when there is no Redis. */
  chatLink?: ChatNotifier;
  /** Node.js process metrics (`api_process_*`, `api_nodejs_*`) on `/metrics`; default true. */
  defaultMetrics?: boolean;
}

export interface ApiNode {
  port: number;
  /** The route table being served (tests iterate it). */
  routes: readonly RouteSpec[];
  /** The listening HTTP server (an `all` process forwards chat WebSocket upgrades from it). */
  httpServer: Server;
  /** Finishes in-flight requests, then stops (bounded by the shutdown timeout). Idempotent. */
  close(): Promise<void>;
}

function probesFor(deps: ApiDeps): ReadinessProbe[] {
  const probes: ReadinessProbe[] = [{ name: 'mongodb', required: true, check: async () => { await deps.db.command({ ping: 1 }); } }];
  const { redis } = deps;
  if (redis) probes.push({ name: 'redis', required: false, check: async () => { await redis.ping(); } });
  return probes;
}

function signalLinkFor(deps: ApiDeps): SignalLink {
  const { redis, config } = deps;
  if (redis) {
    const log = deps.log.child({ component: 'calls' });
    return {
      presence: new RedisHostPresence(redis, config.redis.prefix),
      announcer: new RedisCallAnnouncer(redis, config.redis.prefix, config.nodeId, log),
      callCache: new RedisCallCache(redis, config.redis.prefix),
    };
  }
  return deps.signalLink ?? { presence: new NoHostPresence(), announcer: new NoCallAnnouncer() };
}

/**
 * How the API sees and tells the signal tier: host presence, call-state announcements, and the
 * call cache the signal tier's joins read (every call created or moved is written there before
 * it is announced).
 */
export interface SignalLink {
  presence: HostPresence;
  announcer: CallAnnouncer;
  callCache?: CallCacheWriter;
}

/** Spec 000: an idempotency key is kept 24 h. */
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A request that has held its key this long without finishing is taken to have died. */
const IDEMPOTENCY_LEASE_MS = 60 * 1000;

/**
 * The API's composition root: builds the repositories and services once, then the route table,
 * each router given only the services it uses (the OpenAPI document is built from the table).
 */
export async function startApi(deps: ApiDeps): Promise<ApiNode> {
  const { config, db, keyRing } = deps;
  const log = deps.log.child({ component: 'api' });
  const verifier = createTokenVerifier({ jwks: () => keyRing.jwks() }, config.auth.issuer);
  const metrics = new ApiMetrics(deps.defaultMetrics ?? true);
  const users = new UsersRepository(db);
  await users.ensureIndexes();
  const mailer = createMailer({ ...config.auth.mail, env: config.env, log: log.child({ component: 'mail' }) });
  const auth = await createAuthServices({ config, db, log, keyRing, users, mailer });
  const billing = await createBilling({ config, db, log });
  const payments = await createPaymentServices({ config, db, log });
  const callBilling: CallBilling = {
    configured: config.payments.stripe.secretKey !== undefined,
    // A saved card is charged with its customer (needed for a further hold on the same card).
    place: async (request) => {
      const charge = await payments.methods.forCharge(request.guestId, request.paymentMethod);
      return billing.holds.place({ ...request, paymentMethod: charge.payment_method, ...(charge.customer ? { customer: charge.customer } : {}) });
    },
    savedPaymentMethod: async (userId) => (await payments.methods.list(userId))[0]?.id ?? null,
    attached: (payment) => billing.holds.attached(payment, billing.recheckMs),
  };
  const { profiles, avatars, avatarMaxBytes, links, calls, startSweeper } = await createCallServices({
    config, db, log, keyRing, users, avatarStorage: new GridFsAvatarStorage(db), ...signalLinkFor(deps), billing: callBilling,
  });
  payments.webhooks.register(reversalWebhookHandler({ reversals: billing.reversals, gateway: payments.gateway, log }));
  const chatNotifier = deps.redis ? new RedisChatNotifier(deps.redis, config.redis.prefix, config.nodeId, log.child({ component: 'chat' })) : deps.chatLink ?? new NoChatNotifier();
  const chat = await createChatServices({ config, db, users, notifier: chatNotifier, log });
  const adminUsers = new AdminUsersService({ users, passwords: auth.passwords, rates: config.calls.rate, log });

  const routes: RouteSpec[] = [
    ...healthRoutes(probesFor(deps)),
    ...metricsRoutes(metrics.registry),
    ...jwksRoutes(() => keyRing),
    ...authRoutes({ accounts: auth.accounts, login: auth.login, sessions: auth.sessions, totp: auth.totp, security: auth.security, guests: auth.guests }),
    ...userRoutes({ users: profiles, avatars, avatarMaxBytes }),
    ...searchRoutes({ users: profiles }),
    ...linkRoutes({ links }),
    ...callRoutes({ calls }),
    ...callRecordRoutes({
      calls,
      records: new CallRecordsService({ db, payments: billing.payments, billed: billing.billed, ring: () => keyRing, issuer: config.auth.issuer }),
      usage: new UsageExportService({ db, payments: billing.payments, billed: billing.billed }),
    }),
    ...paymentWebhookRoutes({ webhooks: payments.webhooks }),
    ...paymentMethodRoutes({ methods: payments.methods }),
    ...connectRoutes({ connect: payments.connect }),
    ...paymentRoutes({ ...payments, users }),
    ...chatRoutes({ conversations: chat.conversations, core: chat.core, maxTextChars: chat.maxTextChars }),
    ...chatImageRoutes({ images: chat.images, maxBytes: chat.imageMaxBytes, urlOf: chat.imageUrl }),
    ...chatFollowRoutes({ follows: chat.follows, broadcasts: chat.broadcasts, users, maxTextChars: chat.maxTextChars }),
    ...adminRoutes({ users: adminUsers }),
  ];
  routes.push(...docsRoutes(() => buildOpenApi(routes, { version: API_VERSION, serverUrl: config.api.publicUrl })));

  const limiters = new RateLimiters({ rules: config.api.rateLimits, ...(deps.redis ? { redis: deps.redis } : {}), keyPrefix: config.redis.prefix, exemptIps: config.api.rateLimitExemptIps });
  const idempotencyKeys = new IdempotencyKeysRepository(db);
  await idempotencyKeys.ensureIndexes();
  const idempotency = { store: idempotencyKeys, ttlMs: IDEMPOTENCY_TTL_MS, leaseMs: IDEMPOTENCY_LEASE_MS };
  const app = createHttpApp({ log, routes, idempotency, authenticate: bearerAuthenticator(verifier), limiters, bodyLimitBytes: config.api.bodyLimitBytes, trustProxy: config.api.trustProxy, metrics });
  const listener = await listen(app, config.host, config.api.port);
  log.info({ port: listener.port, host: config.host }, 'api listening');
  const sweeper = startSweeper();
  const billingWorker = billing.startWorker();
  const broadcaster = chat.broadcasts.startWorker();
  return {
    port: listener.port, routes, httpServer: listener.server,
    close: async () => {
      await broadcaster.stop(); await sweeper.stop(); await billingWorker.stop();
      await listener.close(config.shutdownTimeoutMs); mailer.close(); metrics.close();
    },
  };
}
