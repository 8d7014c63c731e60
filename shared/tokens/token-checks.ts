import { AppError } from '../errors/index.js';
import { isRole } from '../roles.js';
import type { SignalingClaims } from './claims.js';

/** Claims every verified token must carry besides `iss` and `aud`. */
export const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'jti'] as const;

export const DEFAULT_CLOCK_TOLERANCE_SEC = 30;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 8192;

/** Throws AppError `unauthorized` ("Malformed token.") unless `token` is a compact JWS of sane length. */
export function assertTokenShape(token: unknown): asserts token is string {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) {
    throw new AppError('unauthorized', { message: 'Malformed token.' });
  }
}

/** The checks after signature and claim-set validation: a `kid` in the header and a known `role`. */
export function assertKidAndRole(header: { kid?: unknown }, claims: Record<string, unknown>): void {
  if (!header.kid) throw new Error('missing kid');
  if (!isRole(claims['role'])) throw new Error('missing or unknown role');
}

/** Maps any verification failure to AppError `unauthorized`; the reason stays in `cause`. */
export function unauthorized(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
  return new AppError('unauthorized', { message: expired ? 'Token has expired.' : 'Invalid token.', cause: err });
}

/** Narrows verified `signal` claims; AppError `unauthorized` when `call_id` or `peer` is missing. */
export function signalingClaimsOf(claims: Record<string, unknown>): SignalingClaims {
  if (typeof claims['call_id'] !== 'string' || typeof claims['peer'] !== 'string') {
    throw new AppError('unauthorized', { message: 'Not a signaling token.' });
  }
  return claims as unknown as SignalingClaims;
}
