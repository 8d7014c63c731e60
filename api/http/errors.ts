import type { Middleware } from 'koa';
import { AppError, ERROR_CODES, type ErrorCode } from '../../shared/errors/index.js';
import { isDependencyUnavailable } from '../../shared/runtime/unavailable.js';
import type { AppState } from './context.js';

const STATUS_TO_CODE: Record<number, ErrorCode> = {
  400: 'validation_error', 401: 'unauthorized', 402: 'stripe_error', 403: 'forbidden', 404: 'not_found',
  405: 'method_not_allowed', 409: 'conflict', 410: 'gone', 413: 'payload_too_large', 415: 'unsupported_media_type',
  429: 'rate_limited', 501: 'method_not_allowed', 503: 'service_unavailable',
};

interface HttpLikeError { status?: number; statusCode?: number; expose?: boolean; message?: string; type?: string }

/** `Retry-After` (seconds) of a 503: about how long the storage driver takes to see a database again. */
export const UNAVAILABLE_RETRY_AFTER_SEC = 5;

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDependencyUnavailable(err)) {
    return new AppError('service_unavailable', { message: 'A required service is temporarily unavailable; retry shortly.', cause: err });
  }
  const e = (err ?? {}) as HttpLikeError;
  const status = e.status ?? e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = STATUS_TO_CODE[status] ?? 'validation_error';
    if (e.type === 'entity.parse.failed') return new AppError('validation_error', { message: 'Request body is not valid JSON.', details: { body: 'must be valid JSON' }, cause: err });
    if (e.type === 'entity.too.large') return new AppError('payload_too_large', { cause: err });
    return new AppError(code, { cause: err });
  }
  return new AppError('internal_error', { cause: err });
}

function writeError(ctx: Parameters<Middleware<AppState>>[0], error: AppError): void {
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
  if (error.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SEC));
  ctx.body = { error: { code: error.code, message: error.message, details: error.details } };
}

/**
 * First in the chain: turns any throw into the spec 000 error envelope. Only AppError messages
 * and well-known HTTP errors reach the client; storage or Redis that is unreachable or did not
 * answer in time is 503 `service_unavailable` (every 503 carries `Retry-After`); anything else
 * is a logged 500 `internal_error`.
 * Also gives unmatched routes (404) and wrong methods (405) the envelope.
 */
export function errorHandler(): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) writeError(ctx, new AppError('not_found', { message: `No route for ${ctx.method} ${ctx.path}.` }));
        else if (ctx.status === 405 || ctx.status === 501) writeError(ctx, new AppError('method_not_allowed', { message: `${ctx.method} is not allowed on ${ctx.path}.` }));
      }
    } catch (err) {
      const error = toAppError(err);
      if (error.code === 'internal_error') {
        ctx.state.log?.error({ err, method: ctx.method, path: ctx.path }, 'unhandled error');
      } else if (error.code === 'service_unavailable' && error.cause) {
        ctx.state.log?.warn({ err: error.cause, method: ctx.method, path: ctx.path }, 'dependency unavailable');
      } else if (error.cause) {
        ctx.state.log?.debug({ err: error.cause, code: error.code }, 'request rejected');
      }
      writeError(ctx, error);
    }
  };
}

export { ERROR_CODES };
