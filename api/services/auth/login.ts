import { AppError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import type { OAuthProvider, User, UsersRepository } from '../../repositories/users.js';
import type { AuditTrail } from './audit.js';
import type { RequestMeta } from './meta.js';
import type { IdTokenVerifier } from './oauth.js';
import { ONE_TIME_TOKENS, type OneTimeTokens } from './one-time-tokens.js';
import type { PasswordHasher } from './passwords.js';
import type { AuthResult, SessionService } from './sessions.js';
import type { TotpService } from './totp.js';

/** The login answer when 2FA is enabled: no tokens, a 5-minute challenge for `POST /v1/auth/totp/verify`. */
export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
}

/** Attempts (right or wrong) allowed per MFA challenge. */
export const MFA_MAX_ATTEMPTS = 5;

export interface LoginDeps {
  users: UsersRepository;
  passwords: PasswordHasher;
  sessions: SessionService;
  tokens: OneTimeTokens;
  totp: TotpService;
  audit: AuditTrail;
  providers: Record<OAuthProvider, IdTokenVerifier>;
}

/**
 * Sign-in: email + password (same argon2 work and the same 401 for an unknown email and a wrong
 * password), Google / Apple ID tokens (create or link), and the TOTP second step.
 */
export class LoginService {
  constructor(private readonly deps: LoginDeps) {}

  async login(email: string, password: string, meta: RequestMeta): Promise<AuthResult | MfaChallenge> {
    const user = await this.deps.users.findByEmail(email.toLowerCase());
    const check = await this.deps.passwords.verifyOrDummy(user?.password_hash, password);
    if (!user || !check.ok) {
      await this.deps.audit.record('login_failed', meta, user?.id ?? null, { reason: user ? 'password' : 'unknown_email' });
      throw new AppError('invalid_credentials', { message: 'Email or password is incorrect.' });
    }
    if (check.rehash) await this.deps.users.update(user.id, { password_hash: await this.deps.passwords.hash(password) });
    return this.finish(user, 'password', meta);
  }

  private async finish(user: User, method: 'password' | OAuthProvider, meta: RequestMeta): Promise<AuthResult | MfaChallenge> {
    if (user.totp?.enabled) {
      const mfaToken = await this.deps.tokens.issue('mfa_login', user.id, { method });
      await this.deps.audit.record('login_mfa_required', meta, user.id, { method });
      return { mfa_required: true, mfa_token: mfaToken, expires_in: ONE_TIME_TOKENS.mfa_login.ttlSec };
    }
    await this.deps.audit.record('login', meta, user.id, { method });
    return this.deps.sessions.start(user);
  }

  /**
   * Completes an MFA login with a TOTP or backup code. Each call takes one of 5 attempt slots
   * before the code is checked, so parallel guessing gets no more tries; the challenge dies
   * after use, 5 attempts or 5 minutes.
   */
  async completeMfa(mfaToken: string, code: string, meta: RequestMeta): Promise<AuthResult> {
    const invalidToken = () => new AppError('invalid_token', { message: 'The MFA token is invalid or expired.' });
    const challenge = await this.deps.tokens.peek('mfa_login', mfaToken);
    const user = challenge ? await this.deps.users.findById(challenge.user_id) : null;
    if (!challenge || !user?.totp?.enabled) throw invalidToken();
    const attempt = await this.deps.tokens.takeAttempt(challenge, MFA_MAX_ATTEMPTS);
    if (attempt === null) throw invalidToken();
    const factor = await this.deps.totp.checkSecondFactor(user, code, meta);
    if (!factor) {
      await this.deps.audit.record('mfa_failed', meta, user.id, { attempt });
      throw new AppError('invalid_credentials', { message: 'The code is incorrect.', details: { attempts_left: MFA_MAX_ATTEMPTS - attempt } });
    }
    if (!(await this.deps.tokens.consume('mfa_login', mfaToken))) throw invalidToken();
    await this.deps.audit.record('login', meta, user.id, { method: challenge.data['method'] ?? 'password', second_factor: factor });
    return this.deps.sessions.start(user);
  }

  /**
   * Google / Apple sign-in: the account linked to the provider subject; else the account with
   * that (provider-verified) email, which gets linked; else a new verified account. Linking to
   * an account whose email was never verified drops its password and sessions, so whoever
   * registered the address without owning it loses access.
   */
  async oauth(provider: OAuthProvider, idToken: string, displayName: string | undefined, meta: RequestMeta): Promise<AuthResult | MfaChallenge> {
    const identity = await this.deps.providers[provider].verify(idToken);
    let user = await this.deps.users.findByOAuth(provider, identity.subject);
    if (!user) {
      if (!identity.email) throw new AppError('invalid_token', { message: 'The ID token carries no verified email address.' });
      const existing = await this.deps.users.findByEmail(identity.email);
      if (existing) {
        if (existing.oauth?.[provider]) throw new AppError('conflict', { message: `This account is already linked to another ${provider} identity.` });
        if (!existing.email_verified) {
          await this.deps.users.update(existing.id, {}, ['password_hash']);
          await this.deps.sessions.revokeAll(existing.id);
          await this.deps.users.markEmailVerified(existing.id, existing.email);
        }
        user = await this.deps.users.linkOAuth(existing.id, provider, identity.subject);
        if (!user) throw new AppError('conflict', { message: `This account is already linked to another ${provider} identity.` });
        await this.deps.audit.record('oauth_linked', meta, user.id, { provider, by: 'email' });
      } else {
        const now = new Date();
        user = await this.deps.users.create({
          id: newId(), email: identity.email, email_verified: true, display_name: displayName ?? identity.name ?? null, role: 'verified_user',
          oauth: { [provider]: identity.subject }, created_at: now, updated_at: now,
        });
        await this.deps.audit.record('register', meta, user.id, { provider });
      }
    }
    return this.finish(user, provider, meta);
  }
}
