import type { Logger } from 'pino';
import { AppError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import { signToken, TOKEN_TTL_SEC, type KeyRing } from '../../../shared/tokens/index.js';
import type { AuthClaimsRepository } from '../../repositories/auth-claims.js';
import type { RefreshTokensRepository } from '../../repositories/refresh-tokens.js';
import type { User, UsersRepository } from '../../repositories/users.js';
import { selfView } from '../user-view.js';
import type { AuditTrail } from './audit.js';
import type { RequestMeta } from './meta.js';
import { hashSecret, newOpaqueToken } from './secrets.js';

/** Refresh tokens live 30 days (spec 000), renewed on each rotation. */
export const REFRESH_TTL_SEC = 30 * 24 * 60 * 60;

/** `POST /v1/auth/refresh` body. */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** Register / login / OAuth body (spec 004). */
export interface AuthResult extends TokenPair {
  user: Record<string, unknown>;
}

const familyRevokedKey = (familyId: string) => `rt-family-revoked:${familyId}`;
const rotatedKey = (hash: string) => `rt-rotated:${hash}`;

/**
 * Issues and rotates sessions: an RS256 access token with the user's current role and a
 * `rt_` refresh token of a family. Exactly one caller wins the rotation of a token (a unique
 * claim); presenting an already rotated token revokes the family (theft), and a token of a
 * revoked family is refused.
 */
export class SessionService {
  constructor(private readonly deps: {
    keyRing: KeyRing;
    issuer: string;
    users: UsersRepository;
    refreshTokens: RefreshTokensRepository;
    claims: AuthClaimsRepository;
    audit: AuditTrail;
    log: Logger;
  }) {}

  /** An access token for `user` (claims `sub, email, role, iat, exp, iss, jti, aud`). */
  async accessToken(user: User): Promise<string> {
    const { token } = await signToken(this.deps.keyRing, { email: user.email, role: user.role }, {
      issuer: this.deps.issuer, audience: 'api', subject: user.id, ttlSec: TOKEN_TTL_SEC.access,
    });
    return token;
  }

  private async newRefreshToken(userId: string, familyId: string): Promise<string> {
    const token = newOpaqueToken('rt_');
    const now = new Date();
    await this.deps.refreshTokens.insert({
      hash: hashSecret(token), family_id: familyId, user_id: userId,
      created_at: now, expires_at: new Date(now.getTime() + REFRESH_TTL_SEC * 1000), used_at: null, revoked_at: null,
    });
    return token;
  }

  /** Starts a new session (new family) for `user`: the login body. */
  async start(user: User): Promise<AuthResult> {
    const [access, refresh] = await Promise.all([this.accessToken(user), this.newRefreshToken(user.id, newId())]);
    return { user: selfView(user), access_token: access, refresh_token: refresh, expires_in: TOKEN_TTL_SEC.access };
  }

  /** Rotates `refreshToken`; any failure is 401 `invalid_token`. */
  async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
    const invalid = () => new AppError('invalid_token', { message: 'Refresh token is invalid, expired, or already used.' });
    if (!refreshToken.startsWith('rt_')) throw invalid();
    const hash = hashSecret(refreshToken);
    const now = new Date();
    const presented = await this.deps.refreshTokens.findByHash(hash);
    if (!presented || presented.revoked_at || presented.expires_at <= now) throw invalid();
    if (await this.deps.claims.exists(familyRevokedKey(presented.family_id))) throw invalid();
    if (presented.used_at || !(await this.deps.claims.claim(rotatedKey(hash), presented.expires_at))) {
      const revoked = await this.revokeFamily(presented.family_id, now);
      this.deps.log.warn({ user: presented.user_id, family: presented.family_id }, 'refresh token reuse: family revoked');
      await this.deps.audit.record('refresh_reuse', meta, presented.user_id, { family_id: presented.family_id, revoked });
      throw invalid();
    }
    await this.deps.refreshTokens.markUsed(hash, now);
    const user = await this.deps.users.findById(presented.user_id);
    if (!user) throw invalid();
    const [access, refresh] = await Promise.all([this.accessToken(user), this.newRefreshToken(user.id, presented.family_id)]);
    return { access_token: access, refresh_token: refresh, expires_in: TOKEN_TTL_SEC.access };
  }

  /** Revokes a family for good (a marker every later rotation checks, then the stored tokens). */
  private async revokeFamily(familyId: string, now: Date): Promise<number> {
    await this.deps.claims.claim(familyRevokedKey(familyId), new Date(now.getTime() + REFRESH_TTL_SEC * 1000));
    return this.deps.refreshTokens.revokeFamily(familyId, now);
  }

  /** Revokes the family of `refreshToken` if it exists; silent otherwise. */
  async logout(refreshToken: string, meta: RequestMeta): Promise<void> {
    const record = await this.deps.refreshTokens.findByHash(hashSecret(refreshToken));
    if (!record) return;
    const revoked = await this.revokeFamily(record.family_id, new Date());
    if (revoked > 0) await this.deps.audit.record('logout', meta, record.user_id, { family_id: record.family_id });
  }

  /** The family id of `refreshToken` when it is a live token of `userId`. */
  async familyOf(refreshToken: string, userId: string): Promise<string | undefined> {
    const record = await this.deps.refreshTokens.findByHash(hashSecret(refreshToken));
    if (!record || record.user_id !== userId || record.revoked_at || record.used_at || record.expires_at <= new Date()) return undefined;
    if (await this.deps.claims.exists(familyRevokedKey(record.family_id))) return undefined;
    return record.family_id;
  }

  /** Revokes every session (refresh family) of `userId` except `keepFamilyId`; returns how many. */
  async revokeAll(userId: string, keepFamilyId?: string): Promise<number> {
    const families = await this.deps.refreshTokens.liveFamilies(userId, keepFamilyId);
    const now = new Date();
    for (const family of families) await this.revokeFamily(family, now);
    return families.length;
  }
}
