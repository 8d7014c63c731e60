import { AppError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import type { User, UsersRepository } from '../../repositories/users.js';
import { passwordChangedNotice, passwordResetMail, verifyEmailMail, type MailMessage } from '../mail/index.js';
import type { AuditTrail } from './audit.js';
import type { RequestMeta } from './meta.js';
import type { OneTimeTokens } from './one-time-tokens.js';
import type { PasswordHasher } from './passwords.js';
import type { AuthResult, SessionService } from './sessions.js';

/** Spec 004 messages, word for word. */
export const MESSAGES = {
  verified: 'email verified successfully',
  resetRequested: 'if an account with that email exists, a password reset link has been sent',
  resetDone: 'password has been reset successfully',
  loggedOut: 'logged out successfully',
} as const;

export interface AccountDeps {
  users: UsersRepository;
  passwords: PasswordHasher;
  sessions: SessionService;
  tokens: OneTimeTokens;
  audit: AuditTrail;
  send: (message: MailMessage) => void;
  appUrl: string;
}

/** Registration, email verification and password reset (spec 004). */
export class AccountService {
  constructor(private readonly deps: AccountDeps) {}

  async register(input: { email: string; password: string; display_name?: string }, meta: RequestMeta): Promise<AuthResult> {
    const passwordHash = await this.deps.passwords.hash(input.password);
    const now = new Date();
    const user: User = {
      id: newId(), email: input.email.toLowerCase(), email_verified: false, password_hash: passwordHash,
      display_name: input.display_name ?? null, role: 'user', created_at: now, updated_at: now,
    };
    try {
      await this.deps.users.create(user);
    } catch (err) {
      if (err instanceof AppError && err.code === 'conflict') throw new AppError('conflict', { message: 'Email already registered.', details: { email: 'is already registered' } });
      throw err;
    }
    await this.sendVerification(user);
    await this.deps.audit.record('register', meta, user.id);
    return this.deps.sessions.start(user);
  }

  /** Mails a fresh 24 h verification link for the user's current address. */
  async sendVerification(user: User): Promise<void> {
    const token = await this.deps.tokens.issue('verify_email', user.id, { email: user.email });
    this.deps.send(verifyEmailMail(user.email, this.deps.appUrl, token));
  }

  /** Resends the verification mail to an unverified account (`POST /v1/auth/verify-email/resend`). */
  async resendVerification(userId: string): Promise<void> {
    const user = await this.deps.users.findById(userId);
    if (!user) throw new AppError('unauthorized', { message: 'Account no longer exists.' });
    if (user.email_verified) throw new AppError('conflict', { message: 'Email is already verified.' });
    await this.deps.tokens.invalidate('verify_email', user.id);
    await this.sendVerification(user);
  }

  async verifyEmail(token: string, meta: RequestMeta): Promise<void> {
    const record = await this.deps.tokens.consume('verify_email', token);
    const email = record?.data['email'];
    const user = record && email ? await this.deps.users.markEmailVerified(record.user_id, email) : null;
    if (!user) throw new AppError('invalid_token', { message: 'Token is invalid or expired.' });
    await this.deps.audit.record('email_verified', meta, user.id);
  }

  /** Same answer and no error whether or not the account exists. */
  async requestPasswordReset(email: string, meta: RequestMeta): Promise<void> {
    const user = await this.deps.users.findByEmail(email.toLowerCase());
    if (!user) return;
    await this.deps.tokens.invalidate('password_reset', user.id);
    const token = await this.deps.tokens.issue('password_reset', user.id);
    this.deps.send(passwordResetMail(user.email, this.deps.appUrl, token));
    await this.deps.audit.record('password_reset_requested', meta, user.id);
  }

  /** Sets the new password and revokes every refresh token of the user. */
  async confirmPasswordReset(token: string, newPassword: string, meta: RequestMeta): Promise<void> {
    const invalid = () => new AppError('invalid_token', { message: 'Reset token is invalid or expired.' });
    if (!(await this.deps.tokens.peek('password_reset', token))) throw invalid();
    const passwordHash = await this.deps.passwords.hash(newPassword);
    const record = await this.deps.tokens.consume('password_reset', token);
    const user = record ? await this.deps.users.update(record.user_id, { password_hash: passwordHash }) : null;
    if (!user) throw invalid();
    const revoked = await this.deps.sessions.revokeAll(user.id);
    this.deps.send(passwordChangedNotice(user.email));
    await this.deps.audit.record('password_reset', meta, user.id, { sessions_revoked: revoked });
  }
}
