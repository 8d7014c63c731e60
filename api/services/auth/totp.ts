import { Secret, TOTP } from 'otpauth';
import { toDataURL } from 'qrcode';
import { AppError } from '../../../shared/errors/index.js';
import type { AuthClaimsRepository } from '../../repositories/auth-claims.js';
import type { User, UsersRepository } from '../../repositories/users.js';
import type { AuditTrail } from './audit.js';
import type { RequestMeta } from './meta.js';
import type { PasswordHasher } from './passwords.js';
import { hashSecret, newBackupCode, normalizeBackupCode } from './secrets.js';

/** TOTP per RFC 6238 as authenticator apps expect: SHA-1, 6 digits, 30 s; ±1 step of clock drift. */
const PERIOD_SEC = 30;
const WINDOW = 1;
export const BACKUP_CODE_COUNT = 10;

/** `POST /v1/auth/totp/setup` body. */
export interface TotpSetup {
  secret: string;
  otpauth_url: string;
  qr_code: string;
}

function wrongCode(): AppError {
  return new AppError('invalid_credentials', { message: 'The code is incorrect.' });
}

/**
 * TOTP two-factor authentication: setup (pending secret + otpauth URI + QR PNG), enable with a
 * valid code, 10 single-use backup codes stored hashed, disable, regenerate. A time step is
 * accepted once per user (replay refused).
 */
export class TotpService {
  constructor(private readonly deps: { users: UsersRepository; claims: AuthClaimsRepository; passwords: PasswordHasher; audit: AuditTrail; issuer: string }) {}

  /** Uses time step `step` for the user: true once, and only for a step after the last used one. */
  private async useStep(user: User, step: number): Promise<boolean> {
    if (step <= (user.totp?.last_step ?? -1)) return false;
    if (!(await this.deps.claims.claim(`totp:${user.id}:${step}`, new Date(Date.now() + 60 * 60 * 1000)))) return false;
    await this.deps.users.claimTotpStep(user.id, step);
    return true;
  }

  private totp(user: Pick<User, 'email'>, secret: string): TOTP {
    return new TOTP({ issuer: this.deps.issuer, label: user.email, algorithm: 'SHA1', digits: 6, period: PERIOD_SEC, secret: Secret.fromBase32(secret) });
  }

  private async loadUser(userId: string): Promise<User> {
    const user = await this.deps.users.findById(userId);
    if (!user) throw new AppError('unauthorized', { message: 'Account no longer exists.' });
    return user;
  }

  async setup(userId: string, meta: RequestMeta): Promise<TotpSetup> {
    const user = await this.loadUser(userId);
    if (user.totp?.enabled) throw new AppError('conflict', { message: 'Two-factor authentication is already enabled; disable it first.' });
    const secret = new Secret({ size: 20 }).base32;
    if (!(await this.deps.users.setPendingTotp(userId, secret))) throw new AppError('conflict', { message: 'Two-factor authentication is already enabled; disable it first.' });
    const otpauthUrl = this.totp(user, secret).toString();
    await this.deps.audit.record('totp_setup', meta, userId);
    return { secret, otpauth_url: otpauthUrl, qr_code: await toDataURL(otpauthUrl, { type: 'image/png', errorCorrectionLevel: 'M', margin: 2, width: 256 }) };
  }

  /** The time step that `code` matches for `secret` now, or null. */
  private matchStep(user: User, secret: string, code: string, now: number): number | null {
    if (!/^\d{6}$/.test(code)) return null;
    const delta = this.totp(user, secret).validate({ token: code, timestamp: now, window: WINDOW });
    return delta === null ? null : TOTP.counter({ period: PERIOD_SEC, timestamp: now }) + delta;
  }

  private async newBackupCodes(): Promise<{ codes: string[]; hashes: string[] }> {
    const codes = Array.from({ length: BACKUP_CODE_COUNT }, newBackupCode);
    return { codes, hashes: codes.map((c) => hashSecret(normalizeBackupCode(c))) };
  }

  async enable(userId: string, code: string, meta: RequestMeta): Promise<{ enabled: true; backup_codes: string[] }> {
    const user = await this.loadUser(userId);
    if (user.totp?.enabled) throw new AppError('conflict', { message: 'Two-factor authentication is already enabled.' });
    if (!user.totp?.secret) throw new AppError('conflict', { message: 'Call POST /v1/auth/totp/setup first.' });
    const step = this.matchStep(user, user.totp.secret, code, Date.now());
    if (step === null || !(await this.deps.claims.claim(`totp:${user.id}:${step}`, new Date(Date.now() + 60 * 60 * 1000)))) throw wrongCode();
    const { codes, hashes } = await this.newBackupCodes();
    if (!(await this.deps.users.enableTotp(userId, user.totp.secret, step, hashes))) throw new AppError('conflict', { message: 'The pending setup changed; start again.' });
    await this.deps.audit.record('totp_enabled', meta, userId);
    return { enabled: true, backup_codes: codes };
  }

  /**
   * Checks a second factor for a user with 2FA enabled: a current TOTP code (each step once) or
   * an unused backup code (consumed). Returns which one matched, or null.
   */
  async checkSecondFactor(user: User, code: string, meta: RequestMeta): Promise<'totp' | 'backup' | null> {
    if (!user.totp?.enabled) return null;
    const trimmed = code.trim();
    const step = this.matchStep(user, user.totp.secret, trimmed, Date.now());
    if (step !== null) return (await this.useStep(user, step)) ? 'totp' : null;
    const normalized = normalizeBackupCode(trimmed);
    if (normalized.length !== 16) return null;
    const codeHash = hashSecret(normalized);
    if (!user.totp.backup_codes?.includes(codeHash)) return null;
    if (!(await this.deps.claims.claim(`backup:${user.id}:${codeHash}`))) return null;
    await this.deps.users.useBackupCode(user.id, codeHash);
    await this.deps.audit.record('backup_code_used', meta, user.id, { remaining: Math.max(0, (user.totp.backup_codes?.length ?? 1) - 1) });
    return 'backup';
  }

  async status(userId: string): Promise<{ enabled: boolean; backup_codes_remaining: number }> {
    const user = await this.loadUser(userId);
    return { enabled: user.totp?.enabled === true, backup_codes_remaining: user.totp?.enabled ? user.totp.backup_codes?.length ?? 0 : 0 };
  }

  /** Disables 2FA after checking the account password or a second-factor code. */
  async disable(userId: string, proof: { password?: string; code?: string }, meta: RequestMeta): Promise<{ enabled: false }> {
    const user = await this.loadUser(userId);
    if (!user.totp?.enabled) throw new AppError('conflict', { message: 'Two-factor authentication is not enabled.' });
    let ok = false;
    if (proof.code !== undefined) ok = (await this.checkSecondFactor(user, proof.code, meta)) !== null;
    else if (proof.password !== undefined) ok = (await this.deps.passwords.verifyOrDummy(user.password_hash, proof.password)).ok;
    if (!ok) throw new AppError('invalid_credentials', { message: proof.code !== undefined ? 'The code is incorrect.' : 'The password is incorrect.' });
    await this.deps.users.update(userId, {}, ['totp']);
    await this.deps.audit.record('totp_disabled', meta, userId, { proof: proof.code !== undefined ? 'code' : 'password' });
    return { enabled: false };
  }

  /** Replaces all backup codes after checking a current TOTP code. */
  async regenerate(userId: string, code: string, meta: RequestMeta): Promise<{ backup_codes: string[] }> {
    const user = await this.loadUser(userId);
    if (!user.totp?.enabled) throw new AppError('conflict', { message: 'Two-factor authentication is not enabled.' });
    const step = this.matchStep(user, user.totp.secret, code.trim(), Date.now());
    if (step === null || !(await this.useStep(user, step))) throw wrongCode();
    const { codes, hashes } = await this.newBackupCodes();
    if (!(await this.deps.users.replaceBackupCodes(userId, hashes))) throw new AppError('conflict', { message: 'Two-factor authentication is not enabled.' });
    await this.deps.audit.record('backup_codes_regenerated', meta, userId);
    return { backup_codes: codes };
  }
}
