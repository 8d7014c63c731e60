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
 * Validates params, query and JSON body against the route's schemas (query and params with
 * type coercion, the body without) and stores the results in `ctx.state`. All failures are
 * reported together as one 400 `validation_error` with field-level `details`.
 */
export function validateRequest(route: Pick<RouteSpec, 'body' | 'query' | 'params' | 'requestContentType'>): Middleware<AppState> {
  const checkBody = route.requestContentType ? undefined : compile(bodyAjv, route.body);
  const checkQuery = compile(stringAjv, route.query ?? { type: 'object', additionalProperties: false });
  const checkParams = compile(stringAjv, route.params);
  return async (ctx, next) => {
    const details: Record<string, string> = {};
    const params = { ...(ctx as unknown as { params?: Record<string, string> }).params };
    if (checkParams && !checkParams(params)) Object.assign(details, toFieldErrors(checkParams.errors));
    const query: Record<string, unknown> = { ...ctx.query };
    if (checkQuery && !checkQuery(query)) Object.assign(details, toFieldErrors(checkQuery.errors));
    let body: unknown = (ctx.request as { body?: unknown }).body;
    if (checkBody) {
      if (body === undefined) body = {};
      if (!checkBody(body)) Object.assign(details, toFieldErrors(checkBody.errors));
    }
    if (Object.keys(details).length > 0) throw new AppError('validation_error', { details });
    ctx.state.params = params;
    ctx.state.query = query;
    ctx.state.body = body;
    await next();
  };
}
