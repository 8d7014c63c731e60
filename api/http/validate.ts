import type { Middleware } from 'koa';
import { AppError } from '../../shared/errors/index.js';
import { createAjv, type ValidateFunction } from '../../shared/schemas/ajv.js';
import type { AppState } from './context.js';
import { FieldProblems } from './field-problems.js';
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

/** More query parameters than this (repeats included) is a 400; no route takes more than a few. */
export const MAX_QUERY_PARAMETERS = 1000;

/**
 * The query string as `{name: value | values}` in one pass. Koa's `ctx.query` calls `getAll` once
 * per parameter, quadratic in repeats: 5,400 `a=` in a 16 KiB URL took 0.7 s.
 */
function parseQuery(querystring: string): { query: Record<string, unknown>; count: number } {
  const values = new Map<string, string[]>();
  let count = 0;
  for (const [name, value] of new URLSearchParams(querystring)) {
    count += 1;
    if (count > MAX_QUERY_PARAMETERS) break;
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  const query: Record<string, unknown> = {};
  // defineProperty: a parameter named `__proto__` is an own field like any other.
  for (const [name, list] of values) Object.defineProperty(query, name, { value: list.length === 1 ? list[0] : list, enumerable: true, writable: true, configurable: true });
  return { query, count };
}

interface Pending {
  value: unknown;
  parent: Pending | undefined;
  /** Member name or array index in the parent; the path is built only for a problem. */
  key: string | number;
}

function pathOf(frame: Pending, root: string): string {
  const parts: Array<string | number> = [];
  for (let at: Pending | undefined = frame; at?.parent; at = at.parent) parts.push(at.key);
  let path = root;
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    const part = parts[i]!;
    path = typeof part === 'number' ? `${path}[${part}]` : path ? `${path}.${part}` : part;
  }
  return path;
}

/**
 * Fields no route accepts, by path: a string with a NUL character (no text field has a use for
 * one, and the PostgreSQL behind FerretDB cannot store it) and a member named `__proto__` (never
 * a field of ours; refused everywhere, so no handler can copy one onto a prototype). Iterative,
 * so no nesting depth can overflow the stack.
 */
export function unsafeFields(value: unknown, path: string): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  const pending: Pending[] = [{ value, parent: undefined, key: '' }];
  for (let frame = pending.pop(); frame; frame = pending.pop()) {
    const item = frame.value;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) out[pathOf(frame, path) || 'body'] = 'must not contain NUL characters';
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i -= 1) pending.push({ value: item[i], parent: frame, key: i });
    } else if (isPlainObject(item)) {
      const keys = Object.keys(item);
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        const key = keys[i]!;
        const child: Pending = { value: item[key], parent: frame, key };
        if (key === '__proto__') out[pathOf(child, path)] = 'is not allowed';
        else pending.push(child);
      }
    }
  }
  return out;
}

/**
 * Validates params, query and JSON body against the route's schemas (query and params with
 * type coercion, the body without) and stores the results in `ctx.state`. All failures are
 * reported together as one 400 `validation_error` with field-level `details` (at most
 * `MAX_DETAIL_FIELDS` of them). The work is bounded by the body parser's shape limits.
 */
export function validateRequest(route: Pick<RouteSpec, 'body' | 'query' | 'params' | 'requestContentType'>): Middleware<AppState> {
  const checkBody = route.requestContentType ? undefined : compile(bodyAjv, route.body);
  const checkQuery = compile(stringAjv, route.query ?? { type: 'object', additionalProperties: false });
  const checkParams = compile(stringAjv, route.params);
  return async (ctx, next) => {
    // The body parser lets multipart through for the routes that take it; every other route takes JSON only.
    if (!route.requestContentType && ctx.is('multipart/form-data')) throw new AppError('unsupported_media_type');
    const problems = new FieldProblems();
    const params = { ...(ctx as unknown as { params?: Record<string, string> }).params };
    const { query, count } = parseQuery(ctx.querystring);
    if (count > MAX_QUERY_PARAMETERS) throw new AppError('validation_error', { details: { query: `must have at most ${MAX_QUERY_PARAMETERS} parameters` } });
    let body: unknown = (ctx.request as { body?: unknown }).body;
    // First, so that these messages win over a schema's for the same field.
    for (const value of [params, query, body]) problems.addAll(unsafeFields(value, ''));
    if (checkParams && !checkParams(params)) problems.addAjv(checkParams.errors);
    if (checkQuery && !checkQuery(query)) problems.addAjv(checkQuery.errors);
    problems.addAll(nonFiniteFields(params));
    problems.addAll(nonFiniteFields(query));
    if (checkBody) {
      if (body === undefined) body = {};
      if (!checkBody(body)) problems.addAjv(checkBody.errors);
    }
    if (!problems.empty) throw new AppError('validation_error', { details: problems.details() });
    ctx.state.params = params;
    ctx.state.query = query;
    ctx.state.body = body;
    await next();
  };
}
