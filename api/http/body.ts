import type { Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { AppError } from '../../shared/errors/index.js';
import type { AppState } from './context.js';
import { DEFAULT_JSON_LIMITS, jsonShapeProblem, type JsonLimits } from './json-limits.js';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const JSON_TYPES = ['application/json', '+json'];
/** RFC 8259 whitespace, then an object or an array: bare scalars are refused as before. */
const OBJECT_OR_ARRAY = /^[\x20\x09\x0a\x0d]*[[{]/;

function hasBody(ctx: Parameters<Middleware<AppState>>[0]): boolean {
  const length = ctx.get('Content-Length');
  return ctx.get('Transfer-Encoding') !== '' || (length !== '' && length !== '0');
}

function invalidJson(cause?: unknown): AppError {
  return new AppError('validation_error', { message: 'Request body is not valid JSON.', details: { body: 'must be valid JSON' }, ...(cause ? { cause } : {}) });
}

/**
 * Parses JSON bodies up to `limitBytes` (413 beyond, 400 `validation_error` when malformed or
 * beyond `limits`, checked on the text before parsing) and refuses a non-JSON body with 415,
 * except on routes that declare `multipart/form-data`. Requests with no body pass through with
 * `ctx.request.body` undefined.
 */
export function jsonBody(limitBytes: number, limits: JsonLimits = DEFAULT_JSON_LIMITS): Middleware<AppState> {
  // Read as text (size-limited, decompressed) so the shape is bounded before JSON.parse runs.
  const read = koaBody({
    json: false, multipart: false, urlencoded: false, text: true, textTypes: JSON_TYPES,
    textLimit: limitBytes, parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'] as never,
  }) as unknown as Middleware<AppState>;
  return async (ctx, next) => {
    if (!METHODS_WITH_BODY.has(ctx.method) || !hasBody(ctx)) return next();
    if (ctx.is('multipart/form-data')) return next();
    if (!ctx.is(...JSON_TYPES)) {
      throw new AppError('unsupported_media_type');
    }
    const declared = Number(ctx.get('Content-Length'));
    if (Number.isFinite(declared) && declared > limitBytes) throw new AppError('payload_too_large');
    try {
      await read(ctx, async () => undefined);
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 413) throw new AppError('payload_too_large', { cause: err });
      if (status === 415) throw new AppError('unsupported_media_type', { cause: err });
      throw invalidJson(err);
    }
    const request = ctx.request as { body?: unknown };
    const text = typeof request.body === 'string' ? request.body : '';
    if (text === '') {
      request.body = {};
      return next();
    }
    if (!OBJECT_OR_ARRAY.test(text)) throw invalidJson();
    const problem = jsonShapeProblem(text, limits);
    if (problem) throw new AppError('validation_error', { details: { body: problem } });
    try {
      request.body = JSON.parse(text);
    } catch (err) {
      throw invalidJson(err);
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
