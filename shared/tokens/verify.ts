import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../errors/index.js';
import { isRole } from '../roles.js';
import type { AccessClaims, Audience, SignalingClaims } from './claims.js';

export interface TokenVerifier {
  verifyAccess(token: string): Promise<AccessClaims>;
  verifySignaling(token: string): Promise<SignalingClaims>;
}

export type KeySource = { jwks: () => { keys: JWK[] } } | { jwksUrl: string };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 8192;

function keyResolver(source: KeySource): JWTVerifyGetKey {
  if ('jwksUrl' in source) return createRemoteJWKSet(new URL(source.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  // Rebuilt when the key ring's JWKS changes (rotation), otherwise reused.
  let last: string | undefined;
  let resolver: JWTVerifyGetKey | undefined;
  return (header, token) => {
    const jwks = source.jwks();
    const fingerprint = jwks.keys.map((k) => k.kid).join(',');
    if (fingerprint !== last || !resolver) { resolver = createLocalJWKSet(jwks); last = fingerprint; }
    return resolver(header, token);
  };
}

/**
 * The one token check used by api and signal: RS256 only, a `kid` that is in the key set,
 * `iss`, `aud`, `exp`/`nbf` (30 s leeway) and the claims each audience needs. Any failure is
 * AppError `unauthorized`; the reason is only in `cause`.
 */
export function createTokenVerifier(source: KeySource, issuer: string, clockToleranceSec = 30): TokenVerifier {
  const getKey = keyResolver(source);
  async function verify(token: string, audience: Audience): Promise<Record<string, unknown>> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) {
      throw new AppError('unauthorized', { message: 'Malformed token.' });
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(token, getKey, {
        algorithms: ['RS256'], issuer, audience, clockTolerance: clockToleranceSec, requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      if (!protectedHeader.kid) throw new Error('missing kid');
      if (!isRole(payload['role'])) throw new Error('missing or unknown role');
      return payload as Record<string, unknown>;
    } catch (err) {
      if (err instanceof AppError) throw err;
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new AppError('unauthorized', { message: expired ? 'Token has expired.' : 'Invalid token.', cause: err });
    }
  }
  return {
    async verifyAccess(token) {
      return (await verify(token, 'api')) as unknown as AccessClaims;
    },
    async verifySignaling(token) {
      const claims = await verify(token, 'signal');
      if (typeof claims['call_id'] !== 'string' || typeof claims['peer'] !== 'string') {
        throw new AppError('unauthorized', { message: 'Not a signaling token.' });
      }
      return claims as unknown as SignalingClaims;
    },
  };
}
