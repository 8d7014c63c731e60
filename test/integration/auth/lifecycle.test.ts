import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash as argonHash, argon2id } from 'argon2';
import { startAuthHarness, type AuthHarness } from './harness.js';
import { until } from '../../helpers/poll.js';
import { tokenFromMail } from './support.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('auth lifecycle (spec 004)', () => {
  let h: AuthHarness;
  beforeAll(async () => { h = await startAuthHarness(); });
  afterAll(async () => { await h.stop(); });

  it('registers with 201 and the exact spec body, access token claims, and sends a verification mail', async () => {
    const res = await h.post('/v1/auth/register', { email: 'Jane@Example.com', password: 'SecureP@ssw0rd!', display_name: 'Jane Smith' });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'user']);
    expect(res.body.user).toEqual({
      id: expect.stringMatching(ULID), email: 'jane@example.com', display_name: 'Jane Smith', role: 'user', email_verified: false,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(res.body.expires_in).toBe(900);
    expect(res.body.refresh_token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    const header = decodeProtectedHeader(res.body.access_token);
    expect(header).toMatchObject({ alg: 'RS256', kid: h.t.keyRing.current.kid });
    const claims = decodeJwt(res.body.access_token);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'email', 'exp', 'iat', 'iss', 'jti', 'role', 'sub']);
    expect(claims).toMatchObject({ sub: res.body.user.id, email: 'jane@example.com', role: 'user', iss: 'api.vidivo.app', aud: 'api' });
    expect(claims.exp! - claims.iat!).toBe(900);
    const mail = await h.mailbox.waitFor('jane@example.com', 'Verify your email');
    expect(mail.text).toContain('https://app.example.test/verify-email?token=verify_');
    const stored = await h.t.db.collection('users').findOne({ email: 'jane@example.com' });
    expect(stored?.['password_hash']).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    const me = await h.get('/v1/users/me', res.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ success: true, data: res.body.user });
  });

  it('refuses a duplicate email with 409 conflict and bad fields with 400 validation_error', async () => {
    const dup = await h.post('/v1/auth/register', { email: 'JANE@example.com', password: 'AnotherPass1!' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
    const bad = await h.post('/v1/auth/register', { email: 'not-an-email', password: 'short' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: { code: 'validation_error', message: 'Request validation failed.', details: { email: 'must be a valid email address', password: 'must be at least 8 characters' } } });
    const long = await h.post('/v1/auth/register', { email: 'long@example.com', password: 'x'.repeat(129) });
    expect(long.status).toBe(400);
    expect(long.body.error.details).toEqual({ password: 'must be at most 128 characters' });
    const longName = await h.post('/v1/auth/register', { email: 'name@example.com', password: 'LongEnough1', display_name: 'n'.repeat(81) });
    expect(longName.body.error.details).toEqual({ display_name: 'must be at most 80 characters' });
  });

  it('logs in with 200, and answers 401 invalid_credentials alike for a wrong password and an unknown email', async () => {
    const ok = await h.post('/v1/auth/login', { email: 'jane@example.com', password: 'SecureP@ssw0rd!' });
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'user']);
    const wrong = await h.post('/v1/auth/login', { email: 'jane@example.com', password: 'wrong-password' });
    const unknown = await h.post('/v1/auth/login', { email: 'nobody@example.com', password: 'wrong-password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const failures = await h.t.db.collection('audit_log').find({ type: 'login_failed' }).toArray();
    expect(failures.map((f) => f['details'].reason).sort()).toEqual(['password', 'unknown_email']);
    expect(failures.every((f) => f['ip'] && f['request_id'])).toBe(true);
  });

  it('upgrades a hash made with other argon2 parameters at the next successful login', async () => {
    const old = await argonHash('Legacy-Pass-1', { type: argon2id, memoryCost: 19456, timeCost: 3, parallelism: 1 });
    const now = new Date();
    await h.t.db.collection('users').insertOne({ _id: 'legacyuser0000000000000000' as never, email: 'legacy@example.com', email_verified: true, password_hash: old, display_name: null, role: 'verified_user', created_at: now, updated_at: now });
    const res = await h.post('/v1/auth/login', { email: 'legacy@example.com', password: 'Legacy-Pass-1' });
    expect(res.status).toBe(200);
    const stored = await h.t.db.collection('users').findOne({ email: 'legacy@example.com' });
    expect(stored?.['password_hash']).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect((await h.post('/v1/auth/login', { email: 'legacy@example.com', password: 'Legacy-Pass-1' })).status).toBe(200);
  });

  it('rotates refresh tokens; reusing a rotated one revokes the whole family (401 invalid_token)', async () => {
    const login = await h.post('/v1/auth/login', { email: 'jane@example.com', password: 'SecureP@ssw0rd!' });
    const first = login.body.refresh_token as string;
    const r1 = await h.post('/v1/auth/refresh', { refresh_token: first });
    expect(r1.status).toBe(200);
    expect(Object.keys(r1.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token']);
    expect(r1.body.refresh_token).not.toBe(first);
    const r2 = await h.post('/v1/auth/refresh', { refresh_token: r1.body.refresh_token });
    expect(r2.status).toBe(200);
    const reuse = await h.post('/v1/auth/refresh', { refresh_token: first });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('invalid_token');
    const latest = await h.post('/v1/auth/refresh', { refresh_token: r2.body.refresh_token });
    expect(latest.status).toBe(401);
    expect(latest.body.error.code).toBe('invalid_token');
    expect(await h.t.db.collection('audit_log').countDocuments({ type: 'refresh_reuse' })).toBeGreaterThanOrEqual(1);
    const stored = await h.t.db.collection('refresh_tokens').find({}).toArray();
    expect(stored.every((d) => !JSON.stringify(d).includes(first.slice(3)))).toBe(true);
  });

  it('answers 401 invalid_token for unknown, malformed and expired refresh tokens', async () => {
    for (const token of ['rt_doesnotexist', 'garbage', 'rt_']) {
      const res = await h.post('/v1/auth/refresh', { refresh_token: token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_token');
    }
    const login = await h.post('/v1/auth/login', { email: 'jane@example.com', password: 'SecureP@ssw0rd!' });
    await h.t.db.collection('refresh_tokens').updateMany({}, { $set: { expires_at: new Date(Date.now() - 1000) } });
    const expired = await h.post('/v1/auth/refresh', { refresh_token: login.body.refresh_token });
    expect(expired.status).toBe(401);
    const missing = await h.post('/v1/auth/refresh', {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.details).toEqual({ refresh_token: 'is required' });
  });

  it('of 20 parallel refreshes with the same token exactly one succeeds', async () => {
    const login = await h.post('/v1/auth/login', { email: 'jane@example.com', password: 'SecureP@ssw0rd!' });
    const results = await Promise.all(Array.from({ length: 20 }, () => h.post('/v1/auth/refresh', { refresh_token: login.body.refresh_token })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(19);
    const winner = results.find((r) => r.status === 200)!;
    const afterTheft = await h.post('/v1/auth/refresh', { refresh_token: winner.body.refresh_token });
    expect(afterTheft.status).toBe(401);
  });

  it('logs out (200, also twice and for unknown tokens) and the token is dead afterwards', async () => {
    const login = await h.post('/v1/auth/login', { email: 'jane@example.com', password: 'SecureP@ssw0rd!' });
    const bye = { message: 'logged out successfully' };
    const first = await h.post('/v1/auth/logout', { refresh_token: login.body.refresh_token });
    expect(first.status).toBe(200);
    expect(first.body).toEqual(bye);
    expect((await h.post('/v1/auth/logout', { refresh_token: login.body.refresh_token })).body).toEqual(bye);
    expect((await h.post('/v1/auth/logout', { refresh_token: 'rt_unknown' })).body).toEqual(bye);
    const refresh = await h.post('/v1/auth/refresh', { refresh_token: login.body.refresh_token });
    expect(refresh.status).toBe(401);
  });

  it('verifies the email with the mailed token: role verified_user at the next refresh; the token works once', async () => {
    const reg = await h.register('verify-me@example.com');
    expect(reg.user.role).toBe('user');
    const token = tokenFromMail(await h.mailbox.waitFor('verify-me@example.com', 'Verify your email'));
    expect(token).toMatch(/^verify_/);
    const ok = await h.post('/v1/auth/verify-email', { token });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ message: 'email verified successfully' });
    const again = await h.post('/v1/auth/verify-email', { token });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('invalid_token');
    const refreshed = await h.post('/v1/auth/refresh', { refresh_token: reg.refresh_token });
    expect(decodeJwt(refreshed.body.access_token)['role']).toBe('verified_user');
    const me = await h.get('/v1/users/me', refreshed.body.access_token);
    expect(me.body.data).toMatchObject({ role: 'verified_user', email_verified: true });
    expect((await h.post('/v1/auth/verify-email', { token: 'verify_nope' })).status).toBe(401);
  });

  it('a mailed token works for exactly one of 10 parallel uses', async () => {
    await h.register('parallel-verify@example.com');
    const token = tokenFromMail(await h.mailbox.waitFor('parallel-verify@example.com', 'Verify your email'));
    const results = await Promise.all(Array.from({ length: 10 }, () => h.post('/v1/auth/verify-email', { token })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(9);
  });

  it('refuses an expired verification token', async () => {
    await h.register('late@example.com');
    const token = tokenFromMail(await h.mailbox.waitFor('late@example.com', 'Verify your email'));
    await h.t.db.collection('email_tokens').updateMany({ purpose: 'verify_email' }, { $set: { expires_at: new Date(Date.now() - 1) } });
    const res = await h.post('/v1/auth/verify-email', { token });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_token');
  });

  it('resets the password by mail: same answer for unknown accounts, sessions revoked, token single-use', async () => {
    const reg = await h.register('reset-me@example.com', 'Original-Pass1');
    const message = { message: 'if an account with that email exists, a password reset link has been sent' };
    const unknown = await h.post('/v1/auth/password/reset', { email: 'ghost@example.com' });
    const known = await h.post('/v1/auth/password/reset', { email: 'reset-me@example.com' });
    expect(unknown.status).toBe(200);
    expect(known.status).toBe(200);
    expect(unknown.body).toEqual(message);
    expect(known.body).toEqual(message);
    const mail = await h.mailbox.waitFor('reset-me@example.com', 'Reset your password');
    const token = tokenFromMail(mail);
    expect(token).toMatch(/^reset_/);
    expect(h.mailbox.messages.some((m) => m.to.includes('ghost@example.com'))).toBe(false);
    const weak = await h.post('/v1/auth/password/confirm', { token, new_password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.error.code).toBe('validation_error');
    const ok = await h.post('/v1/auth/password/confirm', { token, new_password: 'Brand-New-Pass2' });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ message: 'password has been reset successfully' });
    expect((await h.post('/v1/auth/refresh', { refresh_token: reg.refresh_token })).status).toBe(401);
    expect((await h.post('/v1/auth/login', { email: 'reset-me@example.com', password: 'Original-Pass1' })).status).toBe(401);
    expect((await h.post('/v1/auth/login', { email: 'reset-me@example.com', password: 'Brand-New-Pass2' })).status).toBe(200);
    const reused = await h.post('/v1/auth/password/confirm', { token, new_password: 'Another-Pass3' });
    expect(reused.status).toBe(401);
    expect(reused.body.error.code).toBe('invalid_token');
    expect(await h.t.db.collection('audit_log').countDocuments({ type: 'password_reset' })).toBe(1);
  });

  it('creates guest sessions (201) whose token has role guest and cannot use user endpoints', async () => {
    const res = await h.post('/v1/auth/guest-session', { display_name: 'Alex' });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'guest_session_id']);
    expect(res.body.guest_session_id).toMatch(/^gs_[0-9a-f]{24}$/);
    expect(res.body.expires_in).toBe(86400);
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ sub: res.body.guest_session_id, role: 'guest', aud: 'api', iss: 'api.vidivo.app' });
    expect(claims.exp! - claims.iat!).toBe(86400);
    expect(await h.t.db.collection('guest_sessions').countDocuments({ _id: res.body.guest_session_id })).toBe(1);
    const me = await h.get('/v1/users/me', res.body.access_token);
    expect(me.status).toBe(403);
    expect(me.body.error.code).toBe('forbidden');
    const noBody = await h.post('/v1/auth/guest-session');
    expect(noBody.status).toBe(201);
  });

  it('serves the JWKS with the signing key', async () => {
    const res = await h.get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys.map((k: { kid: string }) => k.kid)).toContain(h.t.keyRing.current.kid);
    expect(res.body.keys.every((k: Record<string, unknown>) => k['d'] === undefined && k['alg'] === 'RS256')).toBe(true);
  });

  it('resends the verification mail and kills the older link', async () => {
    const reg = await h.register('resend@example.com');
    const first = tokenFromMail(await h.mailbox.waitFor('resend@example.com', 'Verify your email'));
    const res = await h.post('/v1/auth/verify-email/resend', undefined, reg.access_token);
    expect(res.status).toBe(200);
    await until(() => h.mailbox.messages.filter((m) => m.to.includes('resend@example.com')).length === 2);
    const second = tokenFromMail(h.mailbox.messages.filter((m) => m.to.includes('resend@example.com'))[1]!);
    expect((await h.post('/v1/auth/verify-email', { token: first })).status).toBe(401);
    expect((await h.post('/v1/auth/verify-email', { token: second })).status).toBe(200);
    const again = await h.post('/v1/auth/verify-email/resend', undefined, reg.access_token);
    expect(again.status).toBe(409);
  });
});
