import type { Middleware } from 'koa';
import type { AppState } from './context.js';

/** One structured line per request: id, method, path, status, duration. */
export function accessLog(): Middleware<AppState> {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.info(
        { method: ctx.method, path: ctx.path, status: ctx.status, durationMs: Math.round(durationMs * 100) / 100, ip: ctx.state.clientIp, user: ctx.state.principal?.userId },
        'request',
      );
    }
  };
}
