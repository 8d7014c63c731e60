import type { Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { AppError } from '../../shared/errors/index.js';
import type { AppState } from './context.js';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasBody(ctx: Parameters<Middleware<AppState>>[0]): boolean {
  const length = ctx.get('Content-Length');
  return ctx.get('Transfer-Encoding') !== '' || (length !== '' && length !== '0');
}

/**
 * Parses JSON bodies up to `limitBytes` (413 beyond, 400 `validation_error` when malformed) and
 * refuses a non-JSON body with 415, except on routes that declare `multipart/form-data`.
 * Requests with no body pass through with `ctx.request.body` undefined.
 */
export function jsonBody(limitBytes: number): Middleware<AppState> {
  const parse = koaBody({
    json: true, multipart: false, urlencoded: false, text: false,
    jsonStrict: true, jsonLimit: limitBytes, parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'] as never,
  }) as unknown as Middleware<AppState>;
  return async (ctx, next) => {
    if (!METHODS_WITH_BODY.has(ctx.method) || !hasBody(ctx)) return next();
    if (ctx.is('multipart/form-data')) return next();
    if (!ctx.is('application/json', '+json')) {
      throw new AppError('unsupported_media_type');
    }
    const declared = Number(ctx.get('Content-Length'));
    if (Number.isFinite(declared) && declared > limitBytes) throw new AppError('payload_too_large');
    try {
      await parse(ctx, async () => undefined);
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 413) throw new AppError('payload_too_large', { cause: err });
      if (status === 415) throw new AppError('unsupported_media_type', { cause: err });
      throw new AppError('validation_error', { message: 'Request body is not valid JSON.', details: { body: 'must be valid JSON' }, cause: err });
    }
    return next();
  };
}

/**
 * For routes whose handler needs the exact bytes (signed webhooks): reads a JSON body of at most
 * `limitBytes` into `ctx.state.rawBody` without parsing it (413 beyond the limit, 415 when not
 * JSON). Requests with no body leave `rawBody` undefined.
 */
export function rawJsonBody(limitBytes: number): Middleware<AppState> {
  return async (ctx, next) => {
    if (!METHODS_WITH_BODY.has(ctx.method) || !hasBody(ctx)) return next();
    if (!ctx.is('application/json', '+json')) throw new AppError('unsupported_media_type');
    const declared = Number(ctx.get('Content-Length'));
    if (Number.isFinite(declared) && declared > limitBytes) throw new AppError('payload_too_large');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limitBytes) throw new AppError('payload_too_large');
      chunks.push(chunk);
    }
    ctx.state.rawBody = Buffer.concat(chunks, size);
    return next();
  };
}
