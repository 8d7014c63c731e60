import { Router } from '@koa/router';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import { SHARED_BUDGET_RULES } from '../../config/rate-limits.js';
import { AppError } from '../../shared/errors/index.js';
import { hasRole } from '../../shared/roles.js';
import { accessLog } from './access-log.js';
import type { Authenticator } from './authenticate.js';
import { jsonBody, rawJsonBody } from './body.js';
import type { ApiMetrics } from './metrics.js';
import type { AppContext, AppState } from './context.js';
import { errorHandler } from './errors.js';
import { idempotency, type IdempotencyOptions } from './idempotency.js';
import { rateLimit, type RateLimiters } from './rate-limit.js';
import { requestContext } from './request-id.js';
import type { RouteSpec } from './route.js';
import { validateRequest } from './validate.js';

export const API_VERSION = '1.0.0';

export interface HttpAppOptions {
  log: Logger;
  routes: RouteSpec[];
  authenticate: Authenticator;
  limiters: RateLimiters;
  bodyLimitBytes: number;
  trustProxy: boolean;
  /** Needed when a route sets `idempotency`. */
  idempotency?: IdempotencyOptions;
  /** Counts and times requests by route when given. */
  metrics?: ApiMetrics;
}

function requireRole(route: RouteSpec, authenticate: Authenticator): Middleware<AppState> {
  return async (ctx, next) => {
    if (route.auth === 'none') return next();
    const principal = await authenticate(ctx as AppContext);
    ctx.state.principal = principal;
    if (!hasRole(principal.role, route.auth)) {
      throw new AppError('forbidden', { message: `This endpoint requires the ${route.auth} role.` });
    }
    await next();
  };
}

function routeLabel(path: string): Middleware<AppState> {
  return (ctx, next) => {
    ctx.state.route = path;
    return next();
  };
}

/**
 * The Koa application: request id, metrics, access log, error envelope, body parsing, the
 * route table (auth → rate limit → body → validation → handler) and 404/405 handling.
 */
export function createHttpApp(options: HttpAppOptions): Koa<AppState> {
  const app = new Koa<AppState>({ proxy: options.trustProxy });
  app.silent = true;
  const router = new Router<AppState>();
  for (const route of options.routes) {
    const ruleName = route.rateLimit === undefined ? (route.auth === 'none' ? 'unauthenticated' : 'authenticated') : route.rateLimit;
    const chain: Middleware<AppState>[] = [routeLabel(route.path), requireRole(route, options.authenticate)];
    if (ruleName) chain.push(rateLimit(options.limiters, ruleName, SHARED_BUDGET_RULES.includes(ruleName) ? ruleName : route.operationId));
    chain.push(route.rawBody ? rawJsonBody(options.bodyLimitBytes) : jsonBody(options.bodyLimitBytes), ...(route.before ?? []), validateRequest(route));
    if (route.idempotency) {
      if (!options.idempotency || route.auth === 'none') throw new TypeError(`route ${route.operationId} needs idempotency options and authentication`);
      chain.push(idempotency(route, options.idempotency));
    }
    chain.push(async (ctx) => { await route.handler(ctx as AppContext); });
    router.register(route.path, [route.method], chain as never);
  }
  app.use(requestContext(options.log, API_VERSION));
  if (options.metrics) app.use(options.metrics.middleware());
  app.use(accessLog());
  app.use(errorHandler());
  app.use(router.routes() as unknown as Middleware<AppState>);
  app.use(router.allowedMethods({ throw: false }) as unknown as Middleware<AppState>);
  return app;
}
