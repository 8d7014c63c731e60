import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi } from '../../helpers/api.js';
import { startAuthHarness, type AuthHarness } from './harness.js';
import { until } from '../../helpers/poll.js';
import { call } from './support.js';

describe('Google and Apple sign-in against local JWKS servers', () => {
  let h: AuthHarness;
  beforeAll(async () => { h = await startAuthHarness(); });
  afterAll(async () => { await h.stop(); });

  it('creates a verified account from a Google ID token (200, login body), then signs the same subject in', async () => {
    const idToken = await h.google.sign({ sub: 'g-100', email: 'New.Person@gmail.com', email_verified: true, name: 'New Person' });
    const res = await h.post('/v1/auth/google', { id_token: idToken });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'user']);
    expect(res.body.user).toMatchObject({ email: 'new.person@gmail.com', display_name: 'New Person', role: 'verified_user', email_verified: true });
    const again = await h.post('/v1/auth/google', { id_token: await h.google.sign({ sub: 'g-100', email: 'new.person@gmail.com', email_verified: true }) });
    expect(again.status).toBe(200);
    expect(again.body.user.id).toBe(res.body.user.id);
    const connections = await h.get('/v1/auth/connections', res.body.access_token);
    expect(connections.body).toEqual({ connections: [{ provider: 'password', linked: false }, { provider: 'google', linked: true }, { provider: 'apple', linked: false }] });
  });

  it('links Apple to an existing verified account with the same email; display_name from the body', async () => {
    const reg = await h.register('linked@example.com');
    await h.t.db.collection('users').updateOne({ email: 'linked@example.com' }, { $set: { email_verified: true, role: 'verified_user' } });
    const idToken = await h.apple.sign({ sub: 'a-200', email: 'linked@example.com', email_verified: 'true' });
    const res = await h.post('/v1/auth/apple', { id_token: idToken, display_name: 'Ignored Name' });
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(reg.user.id);
    expect(res.body.user.display_name).toBe('Test User');
    expect((await h.post('/v1/auth/login', { email: 'linked@example.com', password: 'SecureP@ssw0rd!' })).status).toBe(200);
    expect(await h.t.db.collection('audit_log').countDocuments({ type: 'oauth_linked', user_id: reg.user.id })).toBe(1);
    const created = await h.post('/v1/auth/apple', { id_token: await h.apple.sign({ sub: 'a-201', email: 'relay@privaterelay.appleid.com', email_verified: 'true' }), display_name: 'Jane Apple' });
    expect(created.body.user).toMatchObject({ display_name: 'Jane Apple', email: 'relay@privaterelay.appleid.com' });
    const noEmailLater = await h.post('/v1/auth/apple', { id_token: await h.apple.sign({ sub: 'a-201' }) });
    expect(noEmailLater.status).toBe(200);
    expect(noEmailLater.body.user.id).toBe(created.body.user.id);
  });

  it('linking to an account whose email was never verified drops its password and sessions', async () => {
    const squatter = await h.register('squat@example.com', 'Squatter-Pass1');
    const res = await h.post('/v1/auth/google', { id_token: await h.google.sign({ sub: 'g-300', email: 'squat@example.com', email_verified: true }) });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: squatter.user.id, email_verified: true, role: 'verified_user' });
    expect((await h.post('/v1/auth/login', { email: 'squat@example.com', password: 'Squatter-Pass1' })).status).toBe(401);
    expect((await h.post('/v1/auth/refresh', { refresh_token: squatter.refresh_token })).status).toBe(401);
  });

  it('answers 401 invalid_token for unverified email, wrong audience, wrong issuer, expired, bad signature', async () => {
    const cases = [
      await h.google.sign({ sub: 'g-400', email: 'x@example.com', email_verified: false }),
      await h.google.sign({ sub: 'g-400', email: 'x@example.com' }),
      await h.google.sign({ sub: 'g-400' }),
      await h.google.sign({ sub: 'g-400', email: 'x@example.com', email_verified: true }, { aud: 'someone-else' }),
      await h.google.sign({ sub: 'g-400', email: 'x@example.com', email_verified: true }, { iss: 'https://evil.example' }),
      await h.google.sign({ sub: 'g-400', email: 'x@example.com', email_verified: true }, { expSec: -120 }),
      await h.apple.sign({ sub: 'g-400', email: 'x@example.com', email_verified: true }, { aud: h.google.clientId, iss: 'https://accounts.google.com' }),
      'not-a-token',
    ];
    for (const idToken of cases) {
      const res = await h.post('/v1/auth/google', { id_token: idToken });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_token');
    }
  });

  it('refetches the provider JWKS when a token carries a new kid', async () => {
    const before = h.google.requests;
    await h.google.rotate();
    const idToken = await h.google.sign({ sub: 'g-500', email: 'rotated@example.com', email_verified: true });
    const res = await until(async () => {
      const attempt = await h.post('/v1/auth/google', { id_token: idToken });
      return attempt.status === 200 ? attempt : undefined;
    }, 20_000);
    expect(res.body.user.email).toBe('rotated@example.com');
    expect(h.google.requests).toBeGreaterThan(before);
  });

  it('lists, links and unlinks sign-in methods; the last one cannot be removed (409)', async () => {
    const g = await h.post('/v1/auth/google', { id_token: await h.google.sign({ sub: 'g-600', email: 'only-google@example.com', email_verified: true }) });
    const token = g.body.access_token;
    const last = await h.del('/v1/auth/connections/google', token);
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('conflict');
    const notLinked = await h.del('/v1/auth/connections/apple', token);
    expect(notLinked.status).toBe(404);
    const link = await h.post('/v1/auth/connections/apple', { id_token: await h.apple.sign({ sub: 'a-600', email: 'other@icloud.com', email_verified: true }) }, token);
    expect(link.status).toBe(200);
    expect(link.body.connections).toContainEqual({ provider: 'apple', linked: true });
    const taken = await h.post('/v1/auth/connections/apple', { id_token: await h.apple.sign({ sub: 'a-200', email: 'linked@example.com', email_verified: true }) }, token);
    expect(taken.status).toBe(409);
    const unlink = await h.del('/v1/auth/connections/google', token);
    expect(unlink.status).toBe(200);
    expect(unlink.body).toEqual({ connections: [{ provider: 'password', linked: false }, { provider: 'google', linked: false }, { provider: 'apple', linked: true }] });
    expect((await h.del('/v1/auth/connections/apple', token)).status).toBe(409);
    const badProvider = await h.del('/v1/auth/connections/github', token);
    expect(badProvider.status).toBe(400);
    expect(await h.t.db.collection('audit_log').countDocuments({ type: 'oauth_unlinked' })).toBe(1);
  });

  it('answers 401 invalid_token when the provider is not configured', async () => {
    const t = await startTestApi({ env: { ARGON2_MEMORY_KIB: '19456', ARGON2_TIME_COST: '2' } });
    try {
      const res = await call(t.url, 'POST', '/v1/auth/apple', { id_token: await h.apple.sign({ sub: 'a-1', email: 'a@b.c', email_verified: true }) });
      expect(res.status).toBe(401);
      expect(res.body.error).toEqual({ code: 'invalid_token', message: 'Apple sign-in is not configured on this server.', details: null });
    } finally {
      await t.stop();
    }
  });
});
