import type { AuthClaimsRepository } from '../../repositories/auth-claims.js';
import type { EmailTokensRepository, OneTimeTokenPurpose, OneTimeTokenRecord } from '../../repositories/email-tokens.js';
import { hashSecret, newOpaqueToken } from './secrets.js';

/** Lifetimes and visible prefixes of one-time tokens. */
export const ONE_TIME_TOKENS: Record<OneTimeTokenPurpose, { prefix: string; ttlSec: number }> = {
  verify_email: { prefix: 'verify_', ttlSec: 24 * 60 * 60 },
  password_reset: { prefix: 'reset_', ttlSec: 60 * 60 },
  email_change: { prefix: 'email_', ttlSec: 24 * 60 * 60 },
  mfa_login: { prefix: 'mfa_', ttlSec: 5 * 60 },
};

/** Creates (stored hashed) and consumes (once, even under concurrent use) mail-link tokens and MFA challenges. */
export class OneTimeTokens {
  constructor(private readonly repo: EmailTokensRepository, private readonly claims: AuthClaimsRepository) {}

  async issue(purpose: OneTimeTokenPurpose, userId: string, data: Record<string, string> = {}): Promise<string> {
    const { prefix, ttlSec } = ONE_TIME_TOKENS[purpose];
    const token = newOpaqueToken(prefix);
    const now = new Date();
    await this.repo.insert({ hash: hashSecret(token), purpose, user_id: userId, data, created_at: now, expires_at: new Date(now.getTime() + ttlSec * 1000), used_at: null });
    return token;
  }

  /** The live token's record without using it; null when invalid, expired or used. */
  peek(purpose: OneTimeTokenPurpose, token: string): Promise<OneTimeTokenRecord | null> {
    if (!token.startsWith(ONE_TIME_TOKENS[purpose].prefix)) return Promise.resolve(null);
    return this.repo.findLive(hashSecret(token), purpose, new Date());
  }

  /** The live token's record for exactly one caller, after which it is used; null otherwise. */
  async consume(purpose: OneTimeTokenPurpose, token: string): Promise<OneTimeTokenRecord | null> {
    const record = await this.peek(purpose, token);
    if (!record || !(await this.claims.claim(`ott:${record.hash}`, record.expires_at))) return null;
    await this.repo.markUsed(record.hash, new Date());
    return record;
  }

  /** Takes the next of `max` attempt slots of a live token: its number (1…max), or null when all are gone. */
  async takeAttempt(record: OneTimeTokenRecord, max: number): Promise<number | null> {
    for (let n = 1; n <= max; n += 1) {
      if (await this.claims.claim(`ott-attempt:${record.hash}:${n}`, record.expires_at)) return n;
    }
    return null;
  }

  invalidate(purpose: OneTimeTokenPurpose, userId: string): Promise<void> {
    return this.repo.invalidateForUser(userId, purpose, new Date());
  }
}
