import { generateKeyPairSync, createPrivateKey, createPublicKey, createHash, type KeyObject } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

/** Private keys, newest first; `current` signs, every key's public half verifies. */
export interface KeyRing {
  current: SigningKey;
  keys: SigningKey[];
  /** `{ keys: [...] }` as served at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] };
}

const KEY_FILE = /^(\d{14})-([A-Za-z0-9_-]{4,64})\.pem$/;

function toSigningKey(kid: string, pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'rsa') throw new TypeError(`key ${kid} is not an RSA key`);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

function stamp(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(0, 14);
}

/** Writes a new 2048-bit RSA key as `<yyyymmddhhmmss>-<thumb>.pem` (mode 0600); returns its kid. */
export function generateKeyFile(dir: string, now = new Date()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const thumb = createHash('sha256').update(pem).digest('base64url').slice(0, 12);
  const kid = `${stamp(now)}-${thumb}`;
  writeFileSync(join(dir, `${kid}.pem`), pem, { mode: 0o600 });
  return kid;
}

/**
 * Loads every `<timestamp>-<id>.pem` in `dir` (kid = file name without `.pem`), newest first.
 * With `generateIfEmpty` (development), creates the first key so restarts keep sessions.
 */
export function loadKeyRing(dir: string, options: { generateIfEmpty: boolean }): KeyRing {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => KEY_FILE.test(f));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (files.length === 0) {
    if (!options.generateIfEmpty) throw new Error(`no signing keys in ${dir} (run \`vidivo rotate-keys\` to create one)`);
    generateKeyFile(dir);
    files = readdirSync(dir).filter((f) => KEY_FILE.test(f));
  }
  const keys = files.sort().reverse().map((f) => toSigningKey(f.slice(0, -4), readFileSync(join(dir, f), 'utf8')));
  return { current: keys[0]!, keys, jwks: () => ({ keys: keys.map((k) => k.publicJwk) }) };
}
