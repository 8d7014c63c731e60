import { newId } from '../../../shared/ids.js';
import type { EmailTokensRepository, OneTimeTokenPurpose, OneTimeTokenRecord } from '../../repositories/email-tokens.js';
import { hashSecret, newOpaqueToken } from './secrets.js';

/** Lifetimes and visible prefixes of one-time tokens. */
export const ONE_TIME_TOKENS: Record<OneTimeTokenPurpose, { prefix: string; ttlSec: number }> = {
  verify_email: { prefix: 'verify_', ttlSec: 24 * 60 * 60 },
  password_reset: { prefix: 'reset_', ttlSec: 60 * 60 },
  email_change: { prefix: 'email_', ttlSec: 24 * 60 * 60 },
  mfa_login: { prefix: 'mfa_', ttlSec: 5 * 60 },
};

/** Creates (stored hashed) and consumes (atomically, once) the tokens of mail links and MFA challenges. */
export class OneTimeTokens {
  constructor(private readonly repo: EmailTokensRepository) {}

  async issue(purpose: OneTimeTokenPurpose, userId: string, data: Record<string, string> = {}): Promise<string> {
    const { prefix, ttlSec } = ONE_TIME_TOKENS[purpose];
    const token = newOpaqueToken(prefix);
    const now = new Date();
    await this.repo.insert({
      id: newId(), hash: hashSecret(token), purpose, user_id: userId, data, attempts: 0,
      created_at: now, expires_at: new Date(now.getTime() + ttlSec * 1000), used_at: null,
    });
    return token;
  }

  /** The live token's record, used up by this call; null when invalid, expired or used. */
  consume(purpose: OneTimeTokenPurpose, token: string, maxAttempts?: number): Promise<OneTimeTokenRecord | null> {
    if (!token.startsWith(ONE_TIME_TOKENS[purpose].prefix)) return Promise.resolve(null);
    return this.repo.consume(hashSecret(token), purpose, new Date(), maxAttempts);
  }

  /** The live token's record without using it. */
  peek(purpose: OneTimeTokenPurpose, token: string, maxAttempts?: number): Promise<OneTimeTokenRecord | null> {
    if (!token.startsWith(ONE_TIME_TOKENS[purpose].prefix)) return Promise.resolve(null);
    return this.repo.findLive(hashSecret(token), purpose, new Date(), maxAttempts);
  }

  recordFailure(purpose: OneTimeTokenPurpose, token: string): Promise<number> {
    return this.repo.recordFailedAttempt(hashSecret(token), purpose);
  }

  invalidate(purpose: OneTimeTokenPurpose, userId: string): Promise<void> {
    return this.repo.invalidateForUser(userId, purpose, new Date());
  }
}
