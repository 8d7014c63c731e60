import { isPlainObject, parseJson } from './jws-rs256.js';
import { TokenCheckError } from './token-error.js';

export interface ClaimsSetOptions {
  issuer: string;
  audience: string;
  requiredClaims: readonly string[];
  clockToleranceSec: number;
  /** Seconds since the epoch. */
  now: number;
}

function claimFailed(message: string): TokenCheckError {
  return new TokenCheckError('ERR_JWT_CLAIM_VALIDATION_FAILED', message);
}

function numericDate(claims: Record<string, unknown>, claim: string): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw claimFailed(`"${claim}" claim must be a number`);
  return value;
}

/**
 * Validates a JWT claims set as jose's `jwtVerify` does for these options, in the same order:
 * a top-level JSON object; presence of `iss`, `aud` and `requiredClaims`; `iss` equal to the
 * issuer; `aud` (string or array) containing the audience; numeric `iat`/`nbf`/`exp`; `nbf` not
 * after now + tolerance; `exp` after now − tolerance (else code `ERR_JWT_EXPIRED`).
 */
export function validateClaimsSet(payload: Uint8Array, options: ClaimsSetOptions): Record<string, unknown> {
  const claims = parseJson(payload);
  if (!isPlainObject(claims)) throw new TokenCheckError('ERR_JWT_INVALID', 'JWT Claims Set must be a top-level JSON object');
  for (const claim of new Set([...options.requiredClaims, 'aud', 'iss'].reverse())) {
    if (!Object.hasOwn(claims, claim)) throw claimFailed(`missing required "${claim}" claim`);
  }
  if (claims['iss'] !== options.issuer) throw claimFailed('unexpected "iss" claim value');
  const aud = claims['aud'];
  const audienceOk = typeof aud === 'string' ? aud === options.audience : Array.isArray(aud) && aud.includes(options.audience);
  if (!audienceOk) throw claimFailed('unexpected "aud" claim value');
  const { now, clockToleranceSec: tolerance } = options;
  numericDate(claims, 'iat');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > now + tolerance) throw claimFailed('"nbf" claim timestamp check failed');
  const exp = numericDate(claims, 'exp');
  if (exp !== undefined && exp <= now - tolerance) throw new TokenCheckError('ERR_JWT_EXPIRED', '"exp" claim timestamp check failed');
  return claims;
}
