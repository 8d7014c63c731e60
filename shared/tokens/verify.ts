import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose';
import type { AccessClaims, Audience, SignalingClaims } from './claims.js';
import { assertKidAndRole, assertTokenShape, DEFAULT_CLOCK_TOLERANCE_SEC, REQUIRED_CLAIMS, signalingClaimsOf, unauthorized } from './token-checks.js';

export interface TokenVerifier {
  verifyAccess(token: string): Promise<AccessClaims>;
  verifySignaling(token: string): Promise<SignalingClaims>;
}

export type KeySource = { jwks: () => { keys: JWK[] } } | { jwksUrl: string };

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
 * The token check used by the API (and anything that may await): RS256 only, a `kid` that is in
 * the key set, `iss`, `aud`, `exp`/`nbf` (30 s leeway) and the claims each audience needs. Any
 * failure is AppError `unauthorized`; the reason is only in `cause`. `createSyncTokenVerifier`
 * performs the same checks without awaiting.
 */
export function createTokenVerifier(source: KeySource, issuer: string, clockToleranceSec = DEFAULT_CLOCK_TOLERANCE_SEC): TokenVerifier {
  const getKey = keyResolver(source);
  async function verify(token: string, audience: Audience): Promise<Record<string, unknown>> {
    assertTokenShape(token);
    try {
      const { payload, protectedHeader } = await jwtVerify(token, getKey, {
        algorithms: ['RS256'], issuer, audience, clockTolerance: clockToleranceSec, requiredClaims: [...REQUIRED_CLAIMS],
      });
      assertKidAndRole(protectedHeader, payload);
      return payload as Record<string, unknown>;
    } catch (err) {
      throw unauthorized(err);
    }
  }
  return {
    async verifyAccess(token) {
      return (await verify(token, 'api')) as unknown as AccessClaims;
    },
    async verifySignaling(token) {
      return signalingClaimsOf(await verify(token, 'signal'));
    },
  };
}
