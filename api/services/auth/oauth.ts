import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { OAuthProviderConfig } from '../../../config/types.js';
import { AppError } from '../../../shared/errors/index.js';
import type { OAuthProvider } from '../../repositories/users.js';

/** What a verified provider ID token tells us. */
export interface VerifiedIdentity {
  provider: OAuthProvider;
  subject: string;
  /** Present only when the provider vouches for it (`email_verified`); Apple may omit it after the first sign-in. */
  email?: string;
  name?: string;
}

const MAX_ID_TOKEN_LENGTH = 8192;
/** After a JWKS fetch, an unknown `kid` triggers another fetch only after this long (bounds fetches caused by forged kids). */
const JWKS_COOLDOWN_MS = 5_000;

function emailVerified(payload: JWTPayload): boolean {
  const value = payload['email_verified'];
  return value === true || value === 'true';
}

/**
 * Verifies Google / Apple ID tokens: RS256 signature against the provider JWKS (cached,
 * refetched on an unknown `kid`), `iss`, `aud` (configured client ids), `exp`; an `email`
 * claim must be verified. An unconfigured provider and every failure are 401 `invalid_token`.
 */
export class IdTokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(readonly provider: OAuthProvider, private readonly config: OAuthProviderConfig) {
    this.jwks = config.clientIds.length > 0
      ? createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: JWKS_COOLDOWN_MS, cacheMaxAge: 6 * 60 * 60 * 1000, timeoutDuration: 5000 })
      : undefined;
  }

  get configured(): boolean {
    return this.jwks !== undefined;
  }

  async verify(idToken: string): Promise<VerifiedIdentity> {
    const label = this.provider === 'google' ? 'Google' : 'Apple';
    const invalid = (cause?: unknown) => new AppError('invalid_token', { message: `${label} ID token is invalid or expired.`, cause });
    if (!this.jwks) throw new AppError('invalid_token', { message: `${label} sign-in is not configured on this server.` });
    if (idToken.length > MAX_ID_TOKEN_LENGTH) throw invalid();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, this.jwks, {
        algorithms: ['RS256'], issuer: this.config.issuers, audience: this.config.clientIds, clockTolerance: 30, requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (err) {
      throw invalid(err);
    }
    const email = payload['email'];
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) throw invalid();
    if (email !== undefined && (typeof email !== 'string' || email.length > 254 || !email.includes('@'))) throw invalid(new Error('bad email'));
    if (email !== undefined && !emailVerified(payload)) throw invalid(new Error('email not verified'));
    const name = typeof payload['name'] === 'string' ? payload['name'].slice(0, 80) : undefined;
    return { provider: this.provider, subject: payload.sub, ...(typeof email === 'string' ? { email: email.toLowerCase() } : {}), ...(name ? { name } : {}) };
  }
}
