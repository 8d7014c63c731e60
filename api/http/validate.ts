import type { Middleware } from 'koa';
import { AppError } from '../../shared/errors/index.js';
import { createAjv, toFieldErrors, type ValidateFunction } from '../../shared/schemas/ajv.js';
import type { AppState } from './context.js';
import type { JsonSchema, RouteSpec } from './route.js';

const bodyAjv = createAjv();
const stringAjv = createAjv({ coerce: true });

function compile(ajv: ReturnType<typeof createAjv>, schema: JsonSchema | undefined): ValidateFunction | undefined {
  return schema ? ajv.compile(schema) : undefined;
}

/**
 * Ajv's string coercion turns `1e400` or `Infinity` into a non-finite number and then skips
 * `minimum`/`maximum` for it, so coerced query and path values are checked for finiteness here.
 */
function nonFiniteFields(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, value] of Object.entries(values)) {
    const items = Array.isArray(value) ? value : [value];
    if (items.some((item) => typeof item === 'number' && !Number.isFinite(item))) out[field] = 'must be a finite number';
  }
  return out;
}

/** Parsed JSON and query objects; not a Buffer an upload parser left in the body (bytes, not text). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Fields no route accepts, by path: a string with a NUL character (no text field has a use for
 * one, and the PostgreSQL behind FerretDB cannot store it) and a member named `__proto__` (never
 * a field of ours; refused everywhere, so no handler can copy one onto a prototype). Iterative,
 * so no nesting depth can overflow the stack.
 */
export function unsafeFields(value: unknown, path: string, out: Record<string, string> = Object.create(null) as Record<string, string>): Record<string, string> {
  const pending: Array<[unknown, string]> = [[value, path]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, at] = next;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) out[at || 'body'] = 'must not contain NUL characters';
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i -= 1) pending.push([item[i], `${at}[${i}]`]);
    } else if (isPlainObject(item)) {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i -= 1) {
        const [key, child] = entries[i]!;
        const childPath = at ? `${at}.${key}` : key;
        if (key === '__proto__') out[childPath] = 'is not allowed';
        else pending.push([child, childPath]);
      }
    }
  }
  return out;
}

/** A validation error lists at most this many fields; `_truncated` then says how many there were. */
export const MAX_DETAIL_FIELDS = 100;
/** Longer field paths (a client's own key names) are cut to this many characters and `…`. */
export const MAX_DETAIL_FIELD_LENGTH = 200;

function boundedDetails(details: Record<string, string>): Record<string, string> {
  const fields = Object.keys(details);
  const out = Object.create(null) as Record<string, string>;
  for (const field of fields.slice(0, MAX_DETAIL_FIELDS)) {
    out[field.length > MAX_DETAIL_FIELD_LENGTH ? `${field.slice(0, MAX_DETAIL_FIELD_LENGTH)}…` : field] = details[field]!;
  }
  if (fields.length > MAX_DETAIL_FIELDS) out['_truncated'] = `only the first ${MAX_DETAIL_FIELDS} of ${fields.length} problems are listed`;
  return out;
}

/**
 * Validates params, query and JSON body against the route's schemas (query and params with
 * type coercion, the body without) and stores the results in `ctx.state`. All failures are
 * reported together as one 400 `validation_error` with field-level `details` (the first
 * `MAX_DETAIL_FIELDS`). The work is bounded by the body parser's shape limits.
 */
export function validateRequest(route: Pick<RouteSpec, 'body' | 'query' | 'params' | 'requestContentType'>): Middleware<AppState> {
  const checkBody = route.requestContentType ? undefined : compile(bodyAjv, route.body);
  const checkQuery = compile(stringAjv, route.query ?? { type: 'object', additionalProperties: false });
  const checkParams = compile(stringAjv, route.params);
  return async (ctx, next) => {
    // The body parser lets multipart through for the routes that take it; every other route takes JSON only.
    if (!route.requestContentType && ctx.is('multipart/form-data')) throw new AppError('unsupported_media_type');
    // No prototype: a field named `__proto__` is kept as an entry by Object.assign, not dropped.
    const details = Object.create(null) as Record<string, string>;
    const params = { ...(ctx as unknown as { params?: Record<string, string> }).params };
    if (checkParams && !checkParams(params)) Object.assign(details, toFieldErrors(checkParams.errors));
    const query: Record<string, unknown> = { ...ctx.query };
    if (checkQuery && !checkQuery(query)) Object.assign(details, toFieldErrors(checkQuery.errors));
    Object.assign(details, nonFiniteFields(params), nonFiniteFields(query));
    let body: unknown = (ctx.request as { body?: unknown }).body;
    if (checkBody) {
      if (body === undefined) body = {};
      if (!checkBody(body)) Object.assign(details, toFieldErrors(checkBody.errors));
    }
    Object.assign(details, unsafeFields(params, ''), unsafeFields(query, ''), unsafeFields(body, ''));
    if (Object.keys(details).length > 0) throw new AppError('validation_error', { details: boundedDetails(details) });
    ctx.state.params = params;
    ctx.state.query = query;
    ctx.state.body = body;
    await next();
  };
}
