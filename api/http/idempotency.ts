import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import { AppError } from '../../shared/errors/index.js';
import type { IdempotencyStore, StoredResponse } from '../ports/idempotency-store.js';
import type { AppState } from './context.js';
import type { RouteSpec } from './route.js';

export const IDEMPOTENCY_HEADER = 'X-Idempotency-Key';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** How long a record is kept (spec: 24 h). */
  ttlMs: number;
  /** How long a started request holds its key before another request may take it over. */
  leaseMs: number;
  now?: () => Date;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** SHA-256 of method, concrete path and the canonical JSON body (key order does not matter). */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(JSON.stringify([method, path, canonical(body ?? null)])).digest('hex');
}

/** Responses a retry with the same key must see again: successes and client errors, not 5xx. */
function isFinal(status: number): boolean {
  return status < 500;
}

/**
 * `X-Idempotency-Key` for a route that opts in (`RouteSpec.idempotency`). Runs after
 * authentication and validation; records are scoped per user.
 * - same key, same method+path+body, finished → the stored status and body, with
 *   `Idempotent-Replayed: true`;
 * - same key, another request → 409 `conflict`;
 * - same key while the first request still runs → 409 `conflict` at once with `Retry-After: 1`
 *   (never a wait: the caller retries and then gets the replay);
 * - a 5xx (or a crash: the lease runs out) frees the key, so a retry runs the handler again.
 */
export function idempotency(route: Pick<RouteSpec, 'idempotency' | 'operationId'>, options: IdempotencyOptions): Middleware<AppState> {
  const now = options.now ?? (() => new Date());
  return async (ctx, next) => {
    const key = ctx.get(IDEMPOTENCY_HEADER);
    if (key === '') {
      if (route.idempotency === 'required') {
        throw new AppError('validation_error', { message: `${IDEMPOTENCY_HEADER} is required on this endpoint.`, details: { [IDEMPOTENCY_HEADER]: 'is required' } });
      }
      return next();
    }
    if (!UUID.test(key)) throw new AppError('validation_error', { details: { [IDEMPOTENCY_HEADER]: 'must be a UUID' } });
    const principal = ctx.state.principal;
    if (!principal) throw new TypeError(`route ${route.operationId} uses idempotency keys without authentication`);
    const userId = principal.userId;
    const normalizedKey = key.toLowerCase();
    const hash = requestHash(ctx.method, ctx.path, ctx.state.body);
    const begun = await options.store.begin({ userId, key: normalizedKey, requestHash: hash, now: now(), leaseMs: options.leaseMs, ttlMs: options.ttlMs });
    if (begun.state !== 'started' && begun.requestHash !== hash) {
      throw new AppError('conflict', { message: `This ${IDEMPOTENCY_HEADER} was already used for a different request.`, details: { [IDEMPOTENCY_HEADER]: 'reused with a different request' } });
    }
    if (begun.state === 'in_progress') {
      throw new AppError('conflict', { message: `A request with this ${IDEMPOTENCY_HEADER} is still in progress; retry shortly.`, details: { [IDEMPOTENCY_HEADER]: 'in progress' }, headers: { 'Retry-After': '1' } });
    }
    if (begun.state === 'replay') {
      ctx.status = begun.response.status;
      ctx.body = begun.response.body;
      ctx.set('Idempotent-Replayed', 'true');
      return;
    }
    try {
      await next();
    } catch (err) {
      const status = err instanceof AppError ? err.status : 500;
      if (err instanceof AppError && isFinal(status)) {
        await options.store.complete(userId, normalizedKey, { status, body: { error: { code: err.code, message: err.message, details: err.details } } }, now())
          .catch((cause: unknown) => ctx.state.log.warn({ err: cause }, 'idempotency record not stored'));
      } else {
        await options.store.abandon(userId, normalizedKey).catch((cause: unknown) => ctx.state.log.warn({ err: cause }, 'idempotency record not released'));
      }
      throw err;
    }
    if (isFinal(ctx.status)) {
      await options.store.complete(userId, normalizedKey, { status: ctx.status, body: ctx.body ?? null }, now())
        .catch((cause: unknown) => ctx.state.log.warn({ err: cause }, 'idempotency record not stored'));
    } else {
      await options.store.abandon(userId, normalizedKey).catch((cause: unknown) => ctx.state.log.warn({ err: cause }, 'idempotency record not released'));
    }
  };
}
