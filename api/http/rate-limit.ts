import { BlockList, isIPv4, isIPv6 } from 'node:net';
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
  /** Client IPs or CIDRs (`10.0.0.0/24`, `::1`) that are never limited; default none. */
  exemptIps?: string[];
}

/** A set of IPs and CIDRs; IPv4-mapped IPv6 clients (`::ffff:a.b.c.d`) match their IPv4 entries. Throws TypeError on a bad entry. */
export function ipMatcher(entries: readonly string[]): (ip: string) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    const bits = prefix === undefined ? undefined : Number(prefix);
    if (!family || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= (family === 'ipv4' ? 32 : 128)))) {
      throw new TypeError(`not an IP address or CIDR: "${entry}"`);
    }
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, bits, family);
  }
  return (ip) => {
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    if (v4) return list.check(v4, 'ipv4');
    if (isIPv4(ip)) return list.check(ip, 'ipv4');
    return isIPv6(ip) && list.check(ip, 'ipv6');
  };
}

/** Builds one limiter per rule; Redis-backed limiters fall back to memory while Redis is down. */
export class RateLimiters {
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  /** True for a client IP listed in `exemptIps`. */
  readonly isExempt: (ip: string) => boolean;

  constructor(private readonly options: RateLimiterOptions) {
    this.isExempt = ipMatcher(options.exemptIps ?? []);
  }

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
 * client IP otherwise, in the budget `budgetKey` (the rule's name for a budget shared by every
 * route of the rule, a route's id for a budget of its own). Sets `X-RateLimit-*` on every response of the route;
 * answers 429 `rate_limited` with `Retry-After` when exhausted. Exempt client IPs pass unlimited
 * and without headers.
 */
export function rateLimit(limiters: RateLimiters, ruleName: string, budgetKey: string): Middleware<AppState> {
  const limiter = limiters.limiter(ruleName);
  const { points } = limiters.rule(ruleName);
  return async (ctx, next) => {
    if (limiters.isExempt(ctx.state.clientIp)) return next();
    const subject = ctx.state.principal ? `u:${ctx.state.principal.userId}` : `ip:${ctx.state.clientIp}`;
    try {
      const res = await limiter.consume(`${budgetKey}:${subject}`);
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
