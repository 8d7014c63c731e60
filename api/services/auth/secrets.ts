import { createHash, randomBytes } from 'node:crypto';

/** SHA-256 hex of a high-entropy secret (refresh, mail and MFA tokens, backup codes): what is stored instead of the secret. */
export function hashSecret(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A new opaque token `prefix` + 256 random bits in base64url. */
export function newOpaqueToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

const BACKUP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A backup code: 16 characters from an unambiguous 31-letter alphabet (~79 bits), shown as `xxxx-xxxx-xxxx-xxxx`. */
export function newBackupCode(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (let i = 0; i < 16; i += 1) {
    if (i > 0 && i % 4 === 0) out += '-';
    out += BACKUP_ALPHABET[bytes[i]! % BACKUP_ALPHABET.length];
  }
  return out;
}

/** Canonical form of a typed backup code (case, spaces and dashes ignored) before hashing. */
export function normalizeBackupCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}
