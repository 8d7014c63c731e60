import { createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSyncTokenVerifier, createTokenVerifier, type JwksSource } from '../../../shared/tokens/index.js';

const ISSUER = 'api.test';
const NOW = 1_900_000_000;

function rsaKey(kid: string, modulusLength = 2048): { kid: string; privateKey: KeyObject; jwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return { kid, privateKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'RS256', use: 'sig' } };
}

const main = rsaKey('20260101000000-main');
const other = rsaKey('20260101000000-other');
const weak = rsaKey('20260101000000-weak', 1024);

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

type Signer = (input: string) => string;
const rs: (key: KeyObject, hash?: string) => Signer = (key, hash = 'sha256') => (input) => sign(hash, Buffer.from(input), key).toString('base64url');
const hs256: (secret: string | Buffer) => Signer = (secret) => (input) => createHmac('sha256', secret).update(input).digest('base64url');

function jwt(header: Record<string, unknown>, payload: unknown, signer: Signer = rs(main.privateKey)): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signer(input)}`;
}

const access = { sub: 'u1', role: 'user', iat: NOW, exp: NOW + 900, iss: ISSUER, aud: 'api', jti: 'j1' };
const signaling = { ...access, role: 'host', aud: 'signal', call_id: 'c1', peer: 'host' };
const rsHeader = { alg: 'RS256', kid: main.kid, typ: 'JWT' };

function withClaims(base: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base, ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === undefined) delete out[k];
  return out;
}

function source(keys: JWK[] = [main.jwk, other.jwk, weak.jwk]): JwksSource & { misses: string[] } {
  const misses: string[] = [];
  return { jwks: () => ({ keys }), unknownKid: (kid) => { misses.push(kid); }, misses };
}

type Outcome = { ok: true; sub: unknown } | { ok: false; code: string; message: string };

async function outcome(run: () => unknown): Promise<Outcome> {
  try {
    const claims = (await run()) as { sub: unknown };
    return { ok: true, sub: claims.sub };
  } catch (err) {
    const e = err as { code: string; message: string };
    return { ok: false, code: e.code, message: e.message };
  }
}

/** Runs `token` through the synchronous and the jose verifier; both must agree. */
async function both(token: unknown, audience: 'api' | 'signal', keys?: JWK[]): Promise<Outcome> {
  const sync = createSyncTokenVerifier(source(keys), ISSUER);
  const jose = createTokenVerifier(source(keys), ISSUER);
  const method = audience === 'api' ? 'verifyAccess' : 'verifySignaling';
  const fromSync = await outcome(() => sync[method](token as string));
  const fromJose = await outcome(() => jose[method](token as string));
  expect(fromSync).toEqual(fromJose);
  return fromSync;
}

const invalid = { ok: false, code: 'unauthorized', message: 'Invalid token.' };

beforeEach(() => {
  vi.useFakeTimers({ now: NOW * 1000, toFake: ['Date'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('createSyncTokenVerifier (same verdicts as the jose verifier)', () => {
  it('accepts a valid access token and a valid signaling token', async () => {
    expect(await both(jwt(rsHeader, access), 'api')).toEqual({ ok: true, sub: 'u1' });
    expect(await both(jwt(rsHeader, signaling), 'signal')).toEqual({ ok: true, sub: 'u1' });
    expect(createSyncTokenVerifier(source(), ISSUER).verifySignaling(jwt(rsHeader, signaling))).toMatchObject({ call_id: 'c1', peer: 'host', aud: 'signal' });
  });

  it('accepts an audience array that contains its audience', async () => {
    expect(await both(jwt(rsHeader, { ...signaling, aud: ['x', 'signal'] }), 'signal')).toEqual({ ok: true, sub: 'u1' });
  });

  it('refuses alg none, with or without a signature segment', async () => {
    const unsigned = `${b64({ alg: 'none', kid: main.kid })}.${b64(access)}`;
    expect(await both(`${unsigned}.`, 'api')).toEqual({ ok: false, code: 'unauthorized', message: 'Malformed token.' });
    expect(await both(`${unsigned}.AAAA`, 'api')).toEqual(invalid);
  });

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const pem = createPublicKey(main.privateKey).export({ format: 'pem', type: 'spki' });
    expect(await both(jwt({ alg: 'HS256', kid: main.kid }, access, hs256(pem)), 'api')).toEqual(invalid);
    expect(await both(jwt({ alg: 'HS256', kid: main.kid }, access, hs256(String(main.jwk.n))), 'api')).toEqual(invalid);
  });

  it('refuses every other signature algorithm, even with the right key', async () => {
    expect(await both(jwt({ alg: 'RS384', kid: main.kid }, access, rs(main.privateKey, 'sha384')), 'api')).toEqual(invalid);
    expect(await both(jwt({ alg: 'RS512', kid: main.kid }, access, rs(main.privateKey, 'sha512')), 'api')).toEqual(invalid);
    expect(await both(jwt({ alg: 'PS256', kid: main.kid }, access), 'api')).toEqual(invalid);
    expect(await both(jwt({ kid: main.kid }, access), 'api')).toEqual(invalid);
  });

  it('refuses an unknown kid and tells the key source about it', async () => {
    expect(await both(jwt({ ...rsHeader, kid: 'nope' }, access), 'api')).toEqual(invalid);
    const keys = source();
    expect(() => createSyncTokenVerifier(keys, ISSUER).verifyAccess(jwt({ ...rsHeader, kid: 'nope' }, access))).toThrow('Invalid token.');
    expect(keys.misses).toEqual(['nope']);
  });

  it('refuses a token without kid, and a kid that names another key', async () => {
    expect(await both(jwt({ alg: 'RS256' }, access), 'api')).toEqual(invalid);
    expect(await both(jwt({ alg: 'RS256' }, access), 'api', [main.jwk])).toEqual(invalid);
    expect(await both(jwt({ ...rsHeader, kid: other.kid }, access), 'api')).toEqual(invalid);
  });

  it('refuses a tampered payload, header or signature', async () => {
    const [h, , s] = jwt(rsHeader, access).split('.');
    expect(await both(`${h}.${b64({ ...access, role: 'admin' })}.${s}`, 'api')).toEqual(invalid);
    expect(await both(`${b64({ ...rsHeader, typ: 'at+jwt' })}.${jwt(rsHeader, access).split('.')[1]}.${s}`, 'api')).toEqual(invalid);
    const flipped = `${s!.slice(0, -2)}${s!.endsWith('AA') ? 'AB' : 'AA'}`;
    expect(await both(`${h}.${jwt(rsHeader, access).split('.')[1]}.${flipped}`, 'api')).toEqual(invalid);
  });

  it('refuses RSA keys under 2048 bits', async () => {
    expect(await both(jwt({ ...rsHeader, kid: weak.kid }, access, rs(weak.privateKey)), 'api')).toEqual(invalid);
  });

  it('refuses expired tokens beyond the 30 s leeway, and tokens not valid yet', async () => {
    const expired = { ok: false, code: 'unauthorized', message: 'Token has expired.' };
    expect(await both(jwt(rsHeader, { ...access, exp: NOW - 30 }), 'api')).toEqual(expired);
    expect(await both(jwt(rsHeader, { ...access, exp: NOW - 29 }), 'api')).toEqual({ ok: true, sub: 'u1' });
    expect(await both(jwt(rsHeader, { ...access, nbf: NOW + 31 }), 'api')).toEqual(invalid);
    expect(await both(jwt(rsHeader, { ...access, nbf: NOW + 30 }), 'api')).toEqual({ ok: true, sub: 'u1' });
  });

  it('refuses a wrong issuer or audience', async () => {
    expect(await both(jwt(rsHeader, { ...access, iss: 'evil' }), 'api')).toEqual(invalid);
    expect(await both(jwt(rsHeader, access), 'signal')).toEqual(invalid);
    expect(await both(jwt(rsHeader, signaling), 'api')).toEqual(invalid);
    expect(await both(jwt(rsHeader, { ...access, aud: ['signal'] }), 'api')).toEqual(invalid);
    expect(await both(jwt(rsHeader, { ...access, aud: 7 }), 'api')).toEqual(invalid);
  });

  it('refuses missing or mistyped required claims and unknown roles', async () => {
    for (const claim of ['sub', 'exp', 'iat', 'jti', 'iss', 'aud', 'role']) {
      expect(await both(jwt(rsHeader, withClaims(access, { [claim]: undefined })), 'api')).toEqual(invalid);
    }
    expect(await both(jwt(rsHeader, { ...access, iat: String(NOW) }), 'api')).toEqual(invalid);
    expect(await both(jwt(rsHeader, { ...access, exp: String(NOW + 60) }), 'api')).toEqual(invalid);
    expect(await both(jwt(rsHeader, { ...access, nbf: 'soon' }), 'api')).toEqual(invalid);
    expect(await both(jwt(rsHeader, { ...access, role: 'root' }), 'api')).toEqual(invalid);
  });

  it('says "Not a signaling token." when call_id or peer is missing', async () => {
    const notSignaling = { ok: false, code: 'unauthorized', message: 'Not a signaling token.' };
    expect(await both(jwt(rsHeader, withClaims(signaling, { call_id: undefined })), 'signal')).toEqual(notSignaling);
    expect(await both(jwt(rsHeader, { ...signaling, peer: 1 }), 'signal')).toEqual(notSignaling);
  });

  it('refuses unknown critical extensions and unencoded payloads', async () => {
    expect(await both(jwt({ ...rsHeader, crit: ['exp'], exp: 1 }, access), 'api')).toEqual(invalid);
    expect(await both(jwt({ ...rsHeader, crit: ['b64'], b64: false }, access), 'api')).toEqual(invalid);
    expect(await both(jwt({ ...rsHeader, crit: [] }, access), 'api')).toEqual(invalid);
  });

  it('refuses payloads and headers that are not JSON objects', async () => {
    expect(await both(jwt(rsHeader, [access]), 'api')).toEqual(invalid);
    expect(await both(jwt(rsHeader, 'null'), 'api')).toEqual(invalid);
    const input = `${b64('not json')}.${b64(access)}`;
    expect(await both(`${input}.${rs(main.privateKey)(input)}`, 'api')).toEqual(invalid);
  });

  it('says "Malformed token." for anything that is not a compact JWS of sane length', async () => {
    const malformed = { ok: false, code: 'unauthorized', message: 'Malformed token.' };
    for (const token of ['', 'a.b', 'a.b.c.d', 'a.b.c=', `${'a'.repeat(8190)}.b.c`, 42]) {
      expect(await both(token, 'api')).toEqual(malformed);
    }
  });

  it('verifies with a key added to the source later (rotation)', () => {
    const keys: JWK[] = [main.jwk];
    const verifier = createSyncTokenVerifier({ jwks: () => ({ keys }) }, ISSUER);
    const token = jwt({ ...rsHeader, kid: other.kid }, access, rs(other.privateKey));
    expect(() => verifier.verifyAccess(token)).toThrow('Invalid token.');
    keys.push(other.jwk);
    expect(verifier.verifyAccess(token).sub).toBe('u1');
  });
});
