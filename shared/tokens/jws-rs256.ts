import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { TokenCheckError } from './token-error.js';

/** A key set readable without awaiting; `unknownKid` is told about a `kid` the set lacks (a remote set may refetch). */
export interface JwksSource {
  jwks(): { keys: JWK[] };
  unknownKid?(kid: string): void;
}

export interface VerifiedJws {
  header: Record<string, unknown>;
  payload: Uint8Array;
}

const MIN_RSA_BITS = 2048;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string): TokenCheckError {
  return new TokenCheckError('ERR_JWS_INVALID', message);
}

function base64url(segment: string, label: string): Buffer {
  if (segment.length % 4 === 1) throw invalid(`Failed to base64url decode the ${label}`);
  return Buffer.from(segment, 'base64url');
}

/** A plain JSON object (no arrays, no class instances), as jose requires of headers and claim sets. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.prototype.toString.call(value) !== '[object Object]') return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** Parses strict UTF-8 JSON; undefined when it is not. */
export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

function checkCrit(header: Record<string, unknown>): void {
  const { crit } = header;
  if (crit === undefined) return;
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw invalid('"crit" (Critical) Header Parameter MUST be an array of non-empty strings when present');
  }
  if (new Set(crit).size !== crit.length) throw invalid('"crit" (Critical) Header Parameter MUST NOT contain duplicate values');
  for (const parameter of crit as string[]) {
    if (parameter !== 'b64') throw new TokenCheckError('ERR_JOSE_NOT_SUPPORTED', `Extension Header Parameter "${parameter}" is not recognized`);
    if (header[parameter] === undefined) throw invalid(`Extension Header Parameter "${parameter}" is missing`);
  }
  if (header['b64'] !== true) throw new TokenCheckError('ERR_JWT_INVALID', 'JWTs MUST NOT use unencoded payload');
}

function usableFor(jwk: JWK, kid: unknown): boolean {
  const ops = jwk.key_ops;
  return (jwk.ext === undefined || typeof jwk.ext === 'boolean')
    && (ops === undefined || (Array.isArray(ops) && ops.every((op, i) => typeof op === 'string' && ops.indexOf(op) === i) && ops.includes('verify')))
    && jwk.kty === 'RSA'
    && (kid === undefined || (typeof kid === 'string' && kid === jwk.kid))
    && (jwk.alg === undefined || jwk.alg === 'RS256')
    && (jwk.use === undefined || jwk.use === 'sig');
}

/**
 * Verifies a compact JWS signed with RS256 by exactly one usable key of `source` (selected by
 * `kid` like jose's local JWK set: RSA, `use` sig, `alg` RS256, `key_ops` verify), refusing
 * every other `alg`, unknown `crit` extensions and RSA keys under 2048 bits. Public keys are
 * imported once per JWK object. Throws TokenCheckError.
 */
export function createRs256Verifier(source: JwksSource): (token: string) => VerifiedJws {
  const imported = new WeakMap<JWK, KeyObject>();
  const keyOf = (jwk: JWK): KeyObject => {
    let key = imported.get(jwk);
    if (!key) {
      key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
      imported.set(jwk, key);
    }
    return key;
  };
  return (token) => {
    const parts = token.split('.');
    if (parts.length !== 3) throw invalid('Invalid Compact JWS');
    const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
    const header = parseJson(base64url(encodedHeader, 'protected header'));
    if (!isPlainObject(header)) throw invalid('JWS Protected Header is invalid');
    checkCrit(header);
    const { alg, kid } = header;
    if (typeof alg !== 'string' || !alg) throw invalid('JWS "alg" (Algorithm) Header Parameter missing or invalid');
    if (alg !== 'RS256') throw new TokenCheckError('ERR_JOSE_ALG_NOT_ALLOWED', '"alg" (Algorithm) Header Parameter value not allowed');
    const candidates = source.jwks().keys.filter((jwk) => usableFor(jwk, kid));
    if (candidates.length === 0) {
      if (typeof kid === 'string') source.unknownKid?.(kid);
      throw new TokenCheckError('ERR_JWKS_NO_MATCHING_KEY', 'no applicable key found in the JSON Web Key Set');
    }
    if (candidates.length > 1) throw new TokenCheckError('ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'multiple matching keys found in the JSON Web Key Set');
    const key = keyOf(candidates[0]!);
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (typeof bits !== 'number' || bits < MIN_RSA_BITS) throw new TokenCheckError('ERR_JOSE_KEY_TOO_SHORT', 'RS256 requires key modulusLength to be 2048 bits or larger');
    const signature = base64url(encodedSignature, 'signature');
    const payload = base64url(encodedPayload, 'payload');
    if (!verify('sha256', Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii'), key, signature)) {
      throw new TokenCheckError('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');
    }
    return { header, payload };
  };
}
