import { generateKeyPairSync, createPrivateKey, createPublicKey, createHash, type KeyObject } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';

export interface SigningKey {
  kid: string;
  /** When this key starts signing (the timestamp in its file name). */
  activatesAt: Date;
  privateKey: KeyObject;
  publicJwk: JWK;
}

/**
 * Private keys, newest first. `current` (re-evaluated on each read) is the newest key whose
 * activation time has come, so a key added with a future activation is published first and
 * signs later; every key's public half verifies.
 */
export interface KeyRing {
  readonly current: SigningKey;
  keys: SigningKey[];
  /** `{ keys: [...] }` as served at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] };
}

const KEY_FILE = /^(\d{14})-([A-Za-z0-9_-]{4,64})\.pem$/;

function parseStamp(stamp: string): Date {
  const [y, mo, d, h, mi, s] = [stamp.slice(0, 4), stamp.slice(4, 6), stamp.slice(6, 8), stamp.slice(8, 10), stamp.slice(10, 12), stamp.slice(12, 14)];
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
}

function toSigningKey(kid: string, pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'rsa') throw new TypeError(`key ${kid} is not an RSA key`);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  return { kid, activatesAt: parseStamp(kid.slice(0, 14)), privateKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

/** The newest key active at `now`; the oldest key when none is active yet. */
function activeKey(keys: SigningKey[], now: number): SigningKey {
  return keys.find((k) => k.activatesAt.getTime() <= now) ?? keys[keys.length - 1]!;
}

function stamp(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(0, 14);
}

/**
 * Writes a new 2048-bit RSA key as `<yyyymmddhhmmss>-<thumb>.pem` (mode 0600); returns its kid.
 * The timestamp is when it starts signing (`now` by default; later to publish it first).
 */
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
  return {
    get current() { return activeKey(keys, Date.now()); },
    keys,
    jwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
  };
}

/**
 * Deletes key files no token can still need: a key is kept while it is active, not yet active,
 * or was replaced (its successor activated) less than `retainSec` ago. `retainSec` must cover
 * the longest token lifetime signed by these keys. Returns the deleted kids.
 */
export function pruneKeyFiles(dir: string, retainSec: number, now = new Date()): string[] {
  const files = readdirSync(dir).filter((f) => KEY_FILE.test(f)).sort();
  const stamps = files.map((f) => parseStamp(f.slice(0, 14)).getTime());
  const deleted: string[] = [];
  for (let i = 0; i < files.length - 1; i += 1) {
    const replacedAt = stamps[i + 1]!;
    if (replacedAt + retainSec * 1000 < now.getTime()) {
      unlinkSync(join(dir, files[i]!));
      deleted.push(files[i]!.slice(0, -4));
    }
  }
  return deleted;
}
