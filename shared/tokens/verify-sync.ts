import type { AccessClaims, Audience, SignalingClaims } from './claims.js';
import { validateClaimsSet } from './claims-set.js';
import { createRs256Verifier, type JwksSource } from './jws-rs256.js';
import { assertKidAndRole, assertTokenShape, DEFAULT_CLOCK_TOLERANCE_SEC, REQUIRED_CLAIMS, signalingClaimsOf, unauthorized } from './token-checks.js';

export interface SyncTokenVerifier {
  verifyAccess(token: string): AccessClaims;
  verifySignaling(token: string): SignalingClaims;
}

/**
 * The checks of `createTokenVerifier` (RS256 only, a `kid` in the key set, `iss`, `aud`,
 * `exp`/`nbf` with the same leeway, the required and per-audience claims) done synchronously
 * with node:crypto, for callers that must not await: the signal server's WebSocket upgrade.
 * Any failure throws AppError `unauthorized` with the same messages; the reason is in `cause`.
 */
export function createSyncTokenVerifier(source: JwksSource, issuer: string, clockToleranceSec = DEFAULT_CLOCK_TOLERANCE_SEC): SyncTokenVerifier {
  const verifyJws = createRs256Verifier(source);
  function verify(token: string, audience: Audience): Record<string, unknown> {
    assertTokenShape(token);
    try {
      const { header, payload } = verifyJws(token);
      const claims = validateClaimsSet(payload, {
        issuer, audience, requiredClaims: REQUIRED_CLAIMS, clockToleranceSec, now: Math.floor(Date.now() / 1000),
      });
      assertKidAndRole(header, claims);
      return claims;
    } catch (err) {
      throw unauthorized(err);
    }
  }
  return {
    verifyAccess: (token) => verify(token, 'api') as unknown as AccessClaims,
    verifySignaling: (token) => signalingClaimsOf(verify(token, 'signal')),
  };
}
