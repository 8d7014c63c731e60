import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../../../config/index.js';
import type { KeyRing } from '../../../shared/tokens/index.js';
import { AuditLogRepository } from '../../repositories/audit-log.js';
import { AuthClaimsRepository } from '../../repositories/auth-claims.js';
import { EmailTokensRepository } from '../../repositories/email-tokens.js';
import { GuestSessionsRepository } from '../../repositories/guest-sessions.js';
import { RefreshTokensRepository } from '../../repositories/refresh-tokens.js';
import type { UsersRepository } from '../../repositories/users.js';
import type { Mailer } from '../mail/index.js';
import { AccountService } from './accounts.js';
import { AuditTrail } from './audit.js';
import { deliverer } from './deliver.js';
import { GuestService } from './guest.js';
import { LoginService } from './login.js';
import { IdTokenVerifier } from './oauth.js';
import { OneTimeTokens } from './one-time-tokens.js';
import { PasswordHasher } from './passwords.js';
import { AccountSecurityService } from './security.js';
import { SessionService } from './sessions.js';
import { TotpService } from './totp.js';

export { MESSAGES } from './accounts.js';
export type { RequestMeta } from './meta.js';
export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.js';

/** Everything the `/v1/auth/*` routes use. */
export interface AuthServices {
  accounts: AccountService;
  login: LoginService;
  sessions: SessionService;
  totp: TotpService;
  security: AccountSecurityService;
  guests: GuestService;
  audit: AuditTrail;
  auditLog: AuditLogRepository;
  passwords: PasswordHasher;
}

/** Builds the auth services and their repositories (indexes created, dummy hash computed). */
export async function createAuthServices(deps: { config: Config; db: Db; log: Logger; keyRing: KeyRing; users: UsersRepository; mailer: Mailer }): Promise<AuthServices> {
  const { config, db, log, keyRing, users } = deps;
  const auth = config.auth;
  const refreshTokens = new RefreshTokensRepository(db);
  const emailTokens = new EmailTokensRepository(db);
  const guests = new GuestSessionsRepository(db);
  const auditLog = new AuditLogRepository(db);
  const claims = new AuthClaimsRepository(db);
  await Promise.all([refreshTokens.ensureIndexes(), emailTokens.ensureIndexes(), guests.ensureIndexes(), auditLog.ensureIndexes(), claims.ensureIndexes()]);
  const authLog = log.child({ component: 'auth' });
  const passwords = new PasswordHasher(auth.argon2);
  await passwords.warmUp();
  const audit = new AuditTrail(auditLog, authLog);
  const tokens = new OneTimeTokens(emailTokens, claims);
  const sessions = new SessionService({ keyRing, issuer: auth.issuer, users, refreshTokens, claims, audit, log: authLog });
  const totp = new TotpService({ users, claims, passwords, audit, issuer: auth.totpIssuer });
  const providers = { google: new IdTokenVerifier('google', auth.google), apple: new IdTokenVerifier('apple', auth.apple) };
  const send = deliverer(deps.mailer, authLog);
  const appUrl = auth.appUrl ?? config.api.publicUrl;
  return {
    accounts: new AccountService({ users, passwords, sessions, tokens, audit, send, appUrl }),
    login: new LoginService({ users, passwords, sessions, tokens, totp, audit, providers }),
    sessions,
    totp,
    security: new AccountSecurityService({ users, passwords, sessions, tokens, audit, providers, send, appUrl }),
    guests: new GuestService({ keyRing, issuer: auth.issuer, guests }),
    audit,
    auditLog,
    passwords,
  };
}
