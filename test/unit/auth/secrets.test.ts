import { describe, expect, it } from 'vitest';
import { PasswordHasher, PASSWORD_MAX_LENGTH } from '../../../api/services/auth/passwords.js';
import { hashSecret, newBackupCode, newOpaqueToken, normalizeBackupCode } from '../../../api/services/auth/secrets.js';

describe('auth secrets', () => {
  it('makes 256-bit opaque tokens with their prefix and hashes them to SHA-256 hex', () => {
    const token = newOpaqueToken('rt_');
    expect(token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    expect(newOpaqueToken('rt_')).not.toBe(token);
    expect(hashSecret(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(token)).not.toContain(token.slice(3));
  });

  it('makes readable backup codes and normalizes what users type', () => {
    const code = newBackupCode();
    expect(code).toMatch(/^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
    expect(normalizeBackupCode(` ${code.toUpperCase().replace(/-/g, ' ')} `)).toBe(code.replace(/-/g, ''));
  });
});

describe('PasswordHasher (argon2id, minimum parameters)', () => {
  const hasher = new PasswordHasher({ memoryKiB: 19456, timeCost: 2, parallelism: 1 });

  it('hashes with argon2id and the configured parameters, verifies, and flags other parameters for rehash', async () => {
    const hash = await hasher.hash('correct horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(await hasher.verifyOrDummy(hash, 'correct horse')).toEqual({ ok: true, rehash: false });
    expect(await hasher.verifyOrDummy(hash, 'wrong horse')).toEqual({ ok: false, rehash: false });
    const stronger = new PasswordHasher({ memoryKiB: 19456, timeCost: 3, parallelism: 1 });
    expect(await stronger.verifyOrDummy(hash, 'correct horse')).toEqual({ ok: true, rehash: true });
  });

  it('fails without a stored hash (dummy work) and refuses over-long passwords before hashing', async () => {
    expect(await hasher.verifyOrDummy(undefined, 'anything')).toEqual({ ok: false, rehash: false });
    const hash = await hasher.hash('x'.repeat(PASSWORD_MAX_LENGTH));
    expect(await hasher.verifyOrDummy(hash, 'x'.repeat(PASSWORD_MAX_LENGTH + 1))).toEqual({ ok: false, rehash: false });
  });
});
