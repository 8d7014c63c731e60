import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createTokenVerifier, type KeyRing } from '../shared/tokens/index.js';
import { API_VERSION, createHttpApp } from './http/app.js';
import { bearerAuthenticator } from './http/bearer.js';
import { listen } from './http/listen.js';
import { ApiMetrics } from './http/metrics.js';
import { RateLimiters } from './http/rate-limit.js';
import { buildOpenApi } from './openapi/build.js';
import type { ReadinessProbe } from './routes/health.js';
import { GridFsAvatarStorage } from './repositories/avatars.js';
import { UsersRepository } from './repositories/users.js';
import { buildRoutes } from './routes/index.js';
import { createAuthServices } from './services/auth/index.js';
import { createCallServices } from './services/calls/index.js';
import { NoCallAnnouncer, RedisCallAnnouncer, type CallAnnouncer } from './services/calls/announcer.js';
import { NoHostPresence, RedisHostPresence, type HostPresence } from './services/calls/presence.js';
import type { ApiServices } from './services/index.js';
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
  /** Node.js process metrics (`api_process_*`, `api_nodejs_*`) on `/metrics`; default true. */
  defaultMetrics?: boolean;
}

export interface ApiNode {
  port: number;
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

/** Builds services and routes, then serves the REST API on `config.api.port`. */
export async function startApi(deps: ApiDeps): Promise<ApiNode> {
  const { config } = deps;
  const log = deps.log.child({ component: 'api' });
  const verifier = createTokenVerifier({ jwks: () => deps.keyRing.jwks() }, config.auth.issuer);
  const users = new UsersRepository(deps.db);
  await users.ensureIndexes();
  const mailer = createMailer({ ...config.auth.mail, env: config.env, log: log.child({ component: 'mail' }) });
  const auth = await createAuthServices({ config, db: deps.db, log, keyRing: deps.keyRing, users, mailer });
  const callServices = await createCallServices({
    config, db: deps.db, log, keyRing: deps.keyRing, users, avatarStorage: new GridFsAvatarStorage(deps.db),
    ...signalLinkFor(deps),
  });
  const metrics = new ApiMetrics(deps.defaultMetrics ?? true);
  const services: ApiServices = { ...deps, log, probes: probesFor(deps), verifier, users, auth, callServices, metrics };
  const routes = buildRoutes(services, (all) => buildOpenApi(all, { version: API_VERSION, serverUrl: config.api.publicUrl }));
  const limiters = new RateLimiters({ rules: config.api.rateLimits, ...(deps.redis ? { redis: deps.redis } : {}), keyPrefix: config.redis.prefix, exemptIps: config.api.rateLimitExemptIps });
  const app = createHttpApp({ log, routes, authenticate: bearerAuthenticator(verifier), limiters, bodyLimitBytes: config.api.bodyLimitBytes, trustProxy: config.api.trustProxy, metrics });
  const listener = await listen(app, config.host, config.api.port);
  log.info({ port: listener.port, host: config.host }, 'api listening');
  const sweeper = callServices.startSweeper();
  return { port: listener.port, close: async () => { await sweeper.stop(); await listener.close(config.shutdownTimeoutMs); mailer.close(); metrics.close(); } };
}
