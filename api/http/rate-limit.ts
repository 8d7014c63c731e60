import type { Middleware } from 'koa';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitRule } from '../../config/types.js';
import { AppError } from '../../shared/errors/index.js';
import type { AppState } from './context.js';

export interface RateLimiterOptions {
  rules: Record<string, RateLimitRule>;
  /** Shared store across API copies; memory when absent. */
  redis?: Redis;
  keyPrefix: string;
}

/** Builds one limiter per rule; Redis-backed limiters fall back to memory while Redis is down. */
export class RateLimiters {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly options: RateLimiterOptions) {}

  rule(name: string): RateLimitRule {
    const rule = this.options.rules[name];
    if (!rule) throw new TypeError(`unknown rate-limit rule "${name}"`);
    return rule;
  }

  limiter(name: string): RateLimiterAbstract {
    let limiter = this.limiters.get(name);
    if (!limiter) {
      const { points, durationSec } = this.rule(name);
      const keyPrefix = `${this.options.keyPrefix}:rl:${name}`;
      limiter = this.options.redis
        ? new RateLimiterRedis({
            storeClient: this.options.redis, keyPrefix, points, duration: durationSec, rejectIfRedisNotReady: true,
            insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: durationSec }),
          })
        : new RateLimiterMemory({ keyPrefix, points, duration: durationSec });
      this.limiters.set(name, limiter);
    }
    return limiter;
  }
}

function setHeaders(ctx: Parameters<Middleware<AppState>>[0], limit: number, res: RateLimiterRes): void {
  ctx.set('X-RateLimit-Limit', String(limit));
  ctx.set('X-RateLimit-Remaining', String(Math.max(0, res.remainingPoints)));
  ctx.set('X-RateLimit-Reset', String(Math.ceil((Date.now() + res.msBeforeNext) / 1000)));
}

/**
 * Consumes one point of `ruleName` for this request, keyed by user when authenticated and by
 * client IP otherwise, scoped to `routeKey`. Sets `X-RateLimit-*` on every response of the route;
 * answers 429 `rate_limited` with `Retry-After` when exhausted.
 */
export function rateLimit(limiters: RateLimiters, ruleName: string, routeKey: string): Middleware<AppState> {
  const limiter = limiters.limiter(ruleName);
  const { points } = limiters.rule(ruleName);
  return async (ctx, next) => {
    const subject = ctx.state.principal ? `u:${ctx.state.principal.userId}` : `ip:${ctx.state.clientIp}`;
    try {
      const res = await limiter.consume(`${routeKey}:${subject}`);
      setHeaders(ctx, points, res);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      setHeaders(ctx, points, rejection);
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new AppError('rate_limited', {
        message: `Too many requests; retry in ${retryAfter} s.`,
        headers: {
          'Retry-After': String(retryAfter),
          'X-RateLimit-Limit': String(points),
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(Math.ceil((Date.now() + rejection.msBeforeNext) / 1000)),
        },
      });
    }
    await next();
  };
}
