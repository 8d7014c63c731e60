import type { Role } from '../roles.js';

/** Audiences: one per kind of token, so a token for one tier is useless at the other. */
export const AUDIENCE = { api: 'api', signal: 'signal' } as const;
export type Audience = (typeof AUDIENCE)[keyof typeof AUDIENCE];

/** Access token claims (spec 004) plus `jti` and `aud`. */
export interface AccessClaims {
  sub: string;
  email?: string;
  role: Role;
  iat: number;
  exp: number;
  iss: string;
  jti: string;
  aud: string;
}

/** Signaling token claims: who (`sub`, `role`) may do what in which call (`call_id`, `peer`). */
export interface SignalingClaims {
  sub: string;
  role: Role;
  call_id: string;
  /** The participant slot in the call: `host` or `guest` (or an SFU participant id). */
  peer: string;
  iat: number;
  exp: number;
  iss: string;
  jti: string;
  aud: string;
}

export const TOKEN_TTL_SEC = { access: 15 * 60, signaling: 5 * 60, guest: 24 * 60 * 60 } as const;

/** How long a replaced signing key must keep verifying: the longest JWT lifetime plus clock leeway. */
export const KEY_RETENTION_SEC = TOKEN_TTL_SEC.guest + 5 * 60;
