import { AppError } from '../../../shared/errors/index.js';
import { OAUTH_PROVIDERS, type OAuthProvider, type User, type UsersRepository } from '../../repositories/users.js';
import { emailChangedNotice, emailChangeMail, emailChangeRequestedNotice, passwordChangedNotice, type MailMessage } from '../mail/index.js';
import type { AuditTrail } from './audit.js';
import type { RequestMeta } from './meta.js';
import type { IdTokenVerifier } from './oauth.js';
import type { OneTimeTokens } from './one-time-tokens.js';
import type { PasswordHasher } from './passwords.js';
import type { SessionService } from './sessions.js';

/** A way to sign in: `password` or a linked provider. */
export type SignInMethod = 'password' | OAuthProvider;

/** `GET /v1/auth/connections` body. */
export interface Connections {
  connections: Array<{ provider: SignInMethod; linked: boolean }>;
}

export interface SecurityDeps {
  users: UsersRepository;
  passwords: PasswordHasher;
  sessions: SessionService;
  tokens: OneTimeTokens;
  audit: AuditTrail;
  providers: Record<OAuthProvider, IdTokenVerifier>;
  send: (message: MailMessage) => void;
  appUrl: string;
}

function connectionsOf(user: User): Connections {
  return {
    connections: [
      { provider: 'password', linked: user.password_hash !== undefined },
      ...OAUTH_PROVIDERS.map((p) => ({ provider: p, linked: user.oauth?.[p] !== undefined })),
    ],
  };
}

/** Signed-in account security (spec 003): change password / email, linked sign-in methods. */
export class AccountSecurityService {
  constructor(private readonly deps: SecurityDeps) {}

  private async loadUser(userId: string): Promise<User> {
    const user = await this.deps.users.findById(userId);
    if (!user) throw new AppError('unauthorized', { message: 'Account no longer exists.' });
    return user;
  }

  private async requirePassword(user: User, password: string | undefined): Promise<void> {
    if (!user.password_hash) return;
    const check = await this.deps.passwords.verifyOrDummy(user.password_hash, password ?? '');
    if (!check.ok) throw new AppError('invalid_credentials', { message: 'The current password is incorrect.' });
  }

  /**
   * Replaces the password after checking the current one, and revokes every other session: all
   * refresh-token families except the one of `keepRefreshToken` (the caller's own), when given.
   */
  async changePassword(userId: string, input: { current_password: string; new_password: string; refresh_token?: string }, meta: RequestMeta): Promise<{ sessions_revoked: number }> {
    const user = await this.loadUser(userId);
    if (!user.password_hash) throw new AppError('conflict', { message: 'This account has no password; set one through POST /v1/auth/password/reset.' });
    await this.requirePassword(user, input.current_password);
    await this.deps.users.update(userId, { password_hash: await this.deps.passwords.hash(input.new_password) });
    const keep = input.refresh_token ? await this.deps.sessions.familyOf(input.refresh_token, userId) : undefined;
    const revoked = await this.deps.sessions.revokeAll(userId, keep);
    this.deps.send(passwordChangedNotice(user.email));
    await this.deps.audit.record('password_change', meta, userId, { sessions_revoked: revoked, kept_current: keep !== undefined });
    return { sessions_revoked: revoked };
  }

  /** Mails a confirmation link to `newEmail` and tells the old address; nothing changes until confirmed. */
  async requestEmailChange(userId: string, input: { new_email: string; password?: string }, meta: RequestMeta): Promise<void> {
    const user = await this.loadUser(userId);
    const newEmail = input.new_email.toLowerCase();
    await this.requirePassword(user, input.password);
    if (newEmail === user.email) throw new AppError('validation_error', { details: { new_email: 'must differ from the current email' } });
    if (await this.deps.users.findByEmail(newEmail)) throw new AppError('conflict', { message: 'Email already registered.', details: { new_email: 'is already registered' } });
    await this.deps.tokens.invalidate('email_change', userId);
    const token = await this.deps.tokens.issue('email_change', userId, { new_email: newEmail, old_email: user.email });
    this.deps.send(emailChangeMail(newEmail, this.deps.appUrl, token));
    this.deps.send(emailChangeRequestedNotice(user.email));
    await this.deps.audit.record('email_change_requested', meta, userId);
  }

  /** Applies a confirmed email change: the new address is verified, the old one is told. */
  async confirmEmailChange(token: string, meta: RequestMeta): Promise<void> {
    const record = await this.deps.tokens.consume('email_change', token);
    const newEmail = record?.data['new_email'];
    const oldEmail = record?.data['old_email'];
    const user = record ? await this.deps.users.findById(record.user_id) : null;
    if (!record || !newEmail || !user || user.email !== oldEmail) throw new AppError('invalid_token', { message: 'Token is invalid or expired.' });
    try {
      await this.deps.users.update(user.id, { email: newEmail, email_verified: true });
    } catch (err) {
      if (err instanceof AppError && err.code === 'conflict') throw new AppError('conflict', { message: 'Email already registered.' });
      throw err;
    }
    await this.deps.users.markEmailVerified(user.id, newEmail);
    this.deps.send(emailChangedNotice(user.email, newEmail));
    await this.deps.audit.record('email_changed', meta, user.id);
  }

  async connections(userId: string): Promise<Connections> {
    return connectionsOf(await this.loadUser(userId));
  }

  /** Links a provider identity (verified ID token) to the signed-in account. */
  async link(userId: string, provider: OAuthProvider, idToken: string, meta: RequestMeta): Promise<Connections> {
    const identity = await this.deps.providers[provider].verify(idToken);
    const owner = await this.deps.users.findByOAuth(provider, identity.subject);
    if (owner && owner.id !== userId) throw new AppError('conflict', { message: `This ${provider} account is already linked to another user.` });
    if (owner) return connectionsOf(owner);
    const user = await this.deps.users.linkOAuth(userId, provider, identity.subject);
    if (!user) throw new AppError('conflict', { message: `A ${provider} account is already linked; unlink it first.` });
    await this.deps.audit.record('oauth_linked', meta, userId, { provider, by: 'user' });
    return connectionsOf(user);
  }

  /** Unlinks a provider; refuses (409) to remove the last way to sign in. */
  async unlink(userId: string, provider: OAuthProvider, meta: RequestMeta): Promise<Connections> {
    const user = await this.loadUser(userId);
    if (!user.oauth?.[provider]) throw new AppError('not_found', { message: `No ${provider} account is linked.` });
    const updated = await this.deps.users.unlinkOAuth(userId, provider);
    if (!updated) throw new AppError('conflict', { message: 'This is the last way to sign in to the account; set a password or link another provider first.' });
    await this.deps.audit.record('oauth_unlinked', meta, userId, { provider });
    return connectionsOf(updated);
  }
}
