import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { newId } from '../../shared/ids.js';
import type { AppState } from './context.js';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Sets `X-Request-ID` (echoing a well-formed incoming one, else a new ULID), `X-API-Version`,
 * the client IP, and a request-scoped child logger.
 */
export function requestContext(log: Logger, apiVersion: string): Middleware<AppState> {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-ID');
    const requestId = SANE_REQUEST_ID.test(incoming) ? incoming : newId();
    ctx.state.requestId = requestId;
    ctx.state.clientIp = ctx.ip;
    ctx.state.log = log.child({ req: requestId });
    ctx.set('X-Request-ID', requestId);
    ctx.set('X-API-Version', apiVersion);
    await next();
  };
}
