import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createTokenVerifier, type KeyRing } from '../shared/tokens/index.js';
import { API_VERSION, createHttpApp } from './http/app.js';
import { bearerAuthenticator } from './http/bearer.js';
import { listen } from './http/listen.js';
import type { RouteSpec } from './http/route.js';
import { RateLimiters } from './http/rate-limit.js';
import { buildOpenApi } from './openapi/build.js';
import type { ReadinessProbe } from './routes/health.js';
import { GridFsAvatarStorage } from './repositories/avatars.js';
import { IdempotencyKeysRepository } from './repositories/idempotency-keys.js';
import { UsersRepository } from './repositories/users.js';
import { buildRoutes } from './routes/index.js';
import { createAuthServices } from './services/auth/index.js';
import { createCallServices } from './services/calls/index.js';
import type { CallBilling } from './services/calls/calls-service.js';
import { createChatServices } from './services/chat/index.js';
import { RedisChatNotifier } from './services/chat/notifier.js';
import { NoChatNotifier, type ChatNotifier } from '../shared/chat/events.js';
import { NoCallAnnouncer, RedisCallAnnouncer, type CallAnnouncer } from './services/calls/announcer.js';
import { NoHostPresence, RedisHostPresence, type HostPresence } from './services/calls/presence.js';
import type { ApiServices } from './services/index.js';
import { createPaymentServices } from './services/payments/index.js';
import { reversalWebhookHandler } from './services/payments/reversal-webhooks.js';
import { createBilling } from './services/payments/billing.js';
import { createMailer } from './services/mail/index.js';

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
  signalLink?: { presence: HostPresence; announcer: CallAnnouncer };
  /** How chat events reach a signal node in the same process when there is no Redis. */
  chatLink?: ChatNotifier;
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

function signalLinkFor(deps: ApiDeps): { presence: HostPresence; announcer: CallAnnouncer } {
  const { redis, config } = deps;
  if (redis) {
    const log = deps.log.child({ component: 'calls' });
    return { presence: new RedisHostPresence(redis, config.redis.prefix), announcer: new RedisCallAnnouncer(redis, config.redis.prefix, config.nodeId, log) };
  }
  return deps.signalLink ?? { presence: new NoHostPresence(), announcer: new NoCallAnnouncer() };
}

/** Spec 000: an idempotency key is kept 24 h. */
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A request that has held its key this long without finishing is taken to have died. */
const IDEMPOTENCY_LEASE_MS = 60 * 1000;

/** Builds services and routes, then serves the REST API on `config.api.port`. */
export async function startApi(deps: ApiDeps): Promise<ApiNode> {
  const { config } = deps;
  const log = deps.log.child({ component: 'api' });
  const verifier = createTokenVerifier({ jwks: () => deps.keyRing.jwks() }, config.auth.issuer);
  const users = new UsersRepository(deps.db);
  await users.ensureIndexes();
  const mailer = createMailer({ ...config.auth.mail, env: config.env, log: log.child({ component: 'mail' }) });
  const auth = await createAuthServices({ config, db: deps.db, log, keyRing: deps.keyRing, users, mailer });
  const billing = await createBilling({ config, db: deps.db, log });
  const payments = await createPaymentServices({ config, db: deps.db, log });
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
  const callServices = await createCallServices({
    config, db: deps.db, log, keyRing: deps.keyRing, users, avatarStorage: new GridFsAvatarStorage(deps.db),
    ...signalLinkFor(deps), billing: callBilling,
  });
  payments.webhooks.register(reversalWebhookHandler({ reversals: billing.reversals, gateway: payments.gateway, log }));
  const chatNotifier = deps.redis ? new RedisChatNotifier(deps.redis, config.redis.prefix, config.nodeId, log.child({ component: 'chat' })) : deps.chatLink ?? new NoChatNotifier();
  const chat = await createChatServices({ config, db: deps.db, users, notifier: chatNotifier, log });
  const services: ApiServices = { ...deps, log, probes: probesFor(deps), verifier, users, auth, callServices, billing, payments, chat };
  const routes = buildRoutes(services, (all) => buildOpenApi(all, { version: API_VERSION, serverUrl: config.api.publicUrl }));
  const limiters = new RateLimiters({ rules: config.api.rateLimits, ...(deps.redis ? { redis: deps.redis } : {}), keyPrefix: config.redis.prefix, exemptIps: config.api.rateLimitExemptIps });
  const idempotencyKeys = new IdempotencyKeysRepository(deps.db);
  await idempotencyKeys.ensureIndexes();
  const idempotency = { store: idempotencyKeys, ttlMs: IDEMPOTENCY_TTL_MS, leaseMs: IDEMPOTENCY_LEASE_MS };
  const app = createHttpApp({ log, routes, idempotency, authenticate: bearerAuthenticator(verifier), limiters, bodyLimitBytes: config.api.bodyLimitBytes, trustProxy: config.api.trustProxy });
  const listener = await listen(app, config.host, config.api.port);
  log.info({ port: listener.port, host: config.host }, 'api listening');
  const sweeper = callServices.startSweeper();
  const billingWorker = billing.startWorker();
  const broadcaster = chat.broadcasts.startWorker();
  return {
    port: listener.port, routes, httpServer: listener.server,
    close: async () => { await broadcaster.stop(); await sweeper.stop(); await billingWorker.stop(); await listener.close(config.shutdownTimeoutMs); mailer.close(); },
  };
}
