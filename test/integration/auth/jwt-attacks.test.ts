import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../shared/tokens/index.js';
import { startAuthHarness, type AuthHarness } from './harness.js';

function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

describe('access-token attacks are 401 unauthorized', () => {
  let h: AuthHarness;
  let valid: string;
  let claims: Record<string, unknown>;
  beforeAll(async () => {
    h = await startAuthHarness();
    const reg = await h.register('victim@example.com');
    valid = reg.access_token;
    claims = JSON.parse(Buffer.from(valid.split('.')[1]!, 'base64url').toString());
  });
  afterAll(async () => { await h.stop(); });

  async function expectRejected(token: string): Promise<void> {
    const res = await h.get('/v1/users/me', token);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  }

  it('accepts the genuine token (control)', async () => {
    expect((await h.get('/v1/users/me', valid)).status).toBe(200);
  });

  it('rejects alg none', async () => {
    await expectRejected(`${b64({ alg: 'none', typ: 'JWT', kid: h.t.keyRing.current.kid })}.${b64({ ...claims, role: 'admin' })}.`);
    await expectRejected(`${b64({ alg: 'none', typ: 'JWT', kid: h.t.keyRing.current.kid })}.${b64({ ...claims, role: 'admin' })}.x`);
  });

  it('rejects HS256 signed with the public key (algorithm confusion)', async () => {
    const publicPem = createPublicKey(h.t.keyRing.current.privateKey).export({ format: 'pem', type: 'spki' }).toString();
    const header = b64({ alg: 'HS256', typ: 'JWT', kid: h.t.keyRing.current.kid });
    const payload = b64({ ...claims, role: 'admin' });
    const sig = createHmac('sha256', publicPem).update(`${header}.${payload}`).digest('base64url');
    await expectRejected(`${header}.${payload}.${sig}`);
  });

  it('rejects an unknown kid and a key that is not ours', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ ...claims, role: 'admin' }).setProtectedHeader({ alg: 'RS256', kid: 'unknown-kid' }).setIssuedAt(now).setExpirationTime(now + 600).sign(privateKey);
    await expectRejected(forged);
    const sameKid = await new SignJWT({ ...claims, role: 'admin' }).setProtectedHeader({ alg: 'RS256', kid: h.t.keyRing.current.kid }).setIssuedAt(now).setExpirationTime(now + 600).sign(privateKey);
    await expectRejected(sameKid);
  });

  it('rejects a tampered payload', async () => {
    const [header, , signature] = valid.split('.');
    await expectRejected(`${header}.${b64({ ...claims, role: 'admin' })}.${signature}`);
  });

  it('rejects an expired token, a wrong issuer and a signaling-audience token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await signToken(h.t.keyRing, { email: claims['email'], role: 'user' }, { issuer: 'api.vidivo.app', audience: 'api', subject: String(claims['sub']), ttlSec: 900, now: past });
    await expectRejected(expired.token);
    const otherIssuer = await signToken(h.t.keyRing, { role: 'user' }, { issuer: 'evil.example', audience: 'api', subject: String(claims['sub']), ttlSec: 900 });
    await expectRejected(otherIssuer.token);
    const signal = await signToken(h.t.keyRing, { role: 'user', call_id: 'c1', peer: 'guest' }, { issuer: 'api.vidivo.app', audience: 'signal', subject: String(claims['sub']), ttlSec: 300 });
    await expectRejected(signal.token);
  });

  it('rejects a missing or malformed Authorization header', async () => {
    const none = await h.get('/v1/users/me');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    await expectRejected('not.a.jwt');
  });
});
