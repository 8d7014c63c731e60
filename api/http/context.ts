import type { ParameterizedContext } from 'koa';
import type { Logger } from 'pino';
import type { Role } from '../../shared/roles.js';

/** Who is calling, as established from a verified access token. */
export interface Principal {
  userId: string;
  role: Role;
  email?: string;
  /** `jti` of the access token. */
  tokenId: string;
}

/** Per-request state every middleware may rely on. */
export interface AppState {
  requestId: string;
  log: Logger;
  clientIp: string;
  principal?: Principal;
  /** The matched route's path pattern (e.g. `/v1/calls/:id`), for metrics; unset when none matched. */
  route?: string;
  /** Validated inputs, set by the validation middleware. */
  body?: unknown;
  query?: unknown;
  params?: Record<string, unknown>;
  /** The unparsed request body, on routes declaring `rawBody` only. */
  rawBody?: Buffer;
}

export type AppContext = ParameterizedContext<AppState>;
