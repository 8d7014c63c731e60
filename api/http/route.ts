import type { Middleware } from 'koa';
import type { Role } from '../../shared/roles.js';
import type { AppContext, AppState } from './context.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type JsonSchema = Record<string, unknown>;

export interface ResponseSpec {
  description: string;
  schema?: JsonSchema;
  contentType?: string;
}

/**
 * One REST route: everything the router, the validator, the rate limiter, the auth check and the
 * OpenAPI generator need, in one inspectable object.
 */
export interface RouteSpec {
  method: HttpMethod;
  /** Koa-style path, e.g. `/v1/calls/:id`. */
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
  /** `none`: public. A role: Bearer access token of at least that role. */
  auth: 'none' | Role;
  /** Rate-limit rule name from the configured table; default `authenticated` / `unauthenticated`. */
  rateLimit?: string | false;
  body?: JsonSchema;
  query?: JsonSchema;
  params?: JsonSchema;
  /** Request content type when not JSON (e.g. `multipart/form-data`). */
  requestContentType?: string;
  /** Hand the handler the body's exact bytes (`ctx.state.rawBody`, JSON only) instead of parsing it. */
  rawBody?: boolean;
  /** Error codes this route documents beyond the generic ones. */
  errors?: string[];
  responses: Record<number, ResponseSpec>;
  handler: (ctx: AppContext) => Promise<void> | void;
  /**
   * `X-Idempotency-Key` handling (api/http/idempotency.ts) for a mutation: `required` refuses a
   * request without the header, `optional` honours it when present. Needs an authenticated route.
   */
  idempotency?: 'required' | 'optional';
  /** Extra middleware run after body parsing and before validation (e.g. a multipart parser). */
  before?: Middleware<AppState>[];
}

export function defineRoutes(routes: RouteSpec[]): RouteSpec[] {
  return routes;
}
