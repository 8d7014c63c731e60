import { readdirSync } from 'node:fs';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, generateKeyFile, KEY_RETENTION_SEC, loadKeyRing, pruneKeyFiles, signToken } from '../../../shared/tokens/index.js';
import { scratchDir } from '../../helpers/scratch.js';

const HOUR = 3600_000;

function keysDir(): string {
  return scratchDir('vidivo-keys');
}

describe('key ring rotation', () => {
  it('signs with the newest active key, publishes a future key before it signs, verifies older keys', async () => {
    const dir = keysDir();
    const now = Date.now();
    const old = generateKeyFile(dir, new Date(now - 48 * HOUR));
    const active = generateKeyFile(dir, new Date(now - HOUR));
    const future = generateKeyFile(dir, new Date(now + HOUR));
    const ring = loadKeyRing(dir, { generateIfEmpty: false });
    expect(ring.current.kid).toBe(active);
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([future, active, old]);
    const verifier = createTokenVerifier({ jwks: () => ring.jwks() }, 'iss');
    const signed = await signToken(ring, { role: 'user' }, { issuer: 'iss', audience: 'api', subject: 'u1', ttlSec: 60 });
    expect(decodeProtectedHeader(signed.token).kid).toBe(active);
    await expect(verifier.verifyAccess(signed.token)).resolves.toMatchObject({ sub: 'u1' });
  });

  it('falls back to the oldest key when none is active yet', () => {
    const dir = keysDir();
    const first = generateKeyFile(dir, new Date(Date.now() + HOUR));
    generateKeyFile(dir, new Date(Date.now() + 2 * HOUR));
    expect(loadKeyRing(dir, { generateIfEmpty: false }).current.kid).toBe(first);
  });

  it('prunes only keys replaced longer ago than the retention; tokens of a pruned key stop verifying', async () => {
    const dir = keysDir();
    const now = Date.now();
    const oldest = generateKeyFile(dir, new Date(now - 72 * HOUR));
    const replacedLongAgo = generateKeyFile(dir, new Date(now - 30 * HOUR));
    const replacedRecently = generateKeyFile(dir, new Date(now - 2 * HOUR));
    const current = generateKeyFile(dir, new Date(now - HOUR));
    const before = loadKeyRing(dir, { generateIfEmpty: false });
    const oldRing = { ...before, get current() { return before.keys.find((k) => k.kid === oldest)!; } };
    const oldToken = await signToken(oldRing, { role: 'user' }, { issuer: 'iss', audience: 'api', subject: 'u1', ttlSec: 60 });
    expect(pruneKeyFiles(dir, KEY_RETENTION_SEC, new Date(now))).toEqual([oldest]);
    expect(readdirSync(dir).map((f) => f.slice(0, -4)).sort()).toEqual([replacedLongAgo, replacedRecently, current].sort());
    const after = loadKeyRing(dir, { generateIfEmpty: false });
    await expect(createTokenVerifier({ jwks: () => after.jwks() }, 'iss').verifyAccess(oldToken.token)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(pruneKeyFiles(dir, KEY_RETENTION_SEC, new Date(now))).toEqual([]);
    expect(pruneKeyFiles(dir, KEY_RETENTION_SEC, new Date(now + 48 * HOUR)).sort()).toEqual([replacedLongAgo, replacedRecently].sort());
    expect(loadKeyRing(dir, { generateIfEmpty: false }).current.kid).toBe(current);
  });
});
