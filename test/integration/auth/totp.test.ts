import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthHarness, type AuthHarness } from './harness.js';
import { totpCode } from './support.js';

describe('TOTP two-factor authentication', () => {
  let h: AuthHarness;
  let access: string;
  let secret: string;
  let backupCodes: string[];
  let enabledAt: number;
  const email = 'mfa@example.com';
  const password = 'Mfa-Password-1';

  beforeAll(async () => {
    h = await startAuthHarness();
    access = (await h.register(email, password)).access_token;
  });
  afterAll(async () => { await h.stop(); });

  async function challenge(): Promise<string> {
    const res = await h.post('/v1/auth/login', { email, password });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ mfa_required: true, mfa_token: expect.stringMatching(/^mfa_/), expires_in: 300 });
    return res.body.mfa_token;
  }

  it('reports disabled, then sets up a secret with an otpauth URI and a PNG QR code', async () => {
    expect((await h.get('/v1/auth/totp/status', access)).body).toEqual({ enabled: false, backup_codes_remaining: 0 });
    const res = await h.post('/v1/auth/totp/setup', undefined, access);
    expect(res.status).toBe(200);
    secret = res.body.secret;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(res.body.otpauth_url).toBe(`otpauth://totp/Vidivo:${encodeURIComponent(email)}?issuer=Vidivo&secret=${secret}&algorithm=SHA1&digits=6&period=30`);
    expect(res.body.qr_code).toMatch(/^data:image\/png;base64,/);
    const png = Buffer.from(res.body.qr_code.split(',')[1], 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const guest = await h.post('/v1/auth/guest-session', {});
    expect((await h.post('/v1/auth/totp/setup', undefined, guest.body.access_token)).status).toBe(403);
    expect((await h.post('/v1/auth/totp/setup')).status).toBe(401);
  });

  it('refuses to enable with a wrong code (401 invalid_credentials), enables with a valid one and returns 10 backup codes', async () => {
    const wrong = await h.post('/v1/auth/totp/enable', { code: '000000' === totpCode(secret) ? '111111' : '000000' }, access);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    enabledAt = Date.now();
    const res = await h.post('/v1/auth/totp/enable', { code: totpCode(secret, enabledAt) }, access);
    expect(res.status).toBe(200);
    expect(res.body.enabled).toBe(true);
    backupCodes = res.body.backup_codes;
    expect(backupCodes).toHaveLength(10);
    expect(new Set(backupCodes).size).toBe(10);
    backupCodes.forEach((c) => expect(c).toMatch(/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/));
    const stored = await h.t.db.collection('users').findOne({ email });
    expect(stored?.['totp'].backup_codes).toHaveLength(10);
    expect(JSON.stringify(stored)).not.toContain(backupCodes[0]!.replace(/-/g, ''));
    expect((await h.get('/v1/auth/totp/status', access)).body).toEqual({ enabled: true, backup_codes_remaining: 10 });
    expect((await h.post('/v1/auth/totp/setup', undefined, access)).status).toBe(409);
    expect((await h.post('/v1/auth/totp/enable', { code: totpCode(secret) }, access)).status).toBe(409);
  });

  it('login returns an MFA challenge; the code already used for enabling is a replay and is refused', async () => {
    const mfa = await challenge();
    const replay = await h.post('/v1/auth/totp/verify', { mfa_token: mfa, code: totpCode(secret, enabledAt) });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('invalid_credentials');
    const next = totpCode(secret, enabledAt + 30_000);
    const ok = await h.post('/v1/auth/totp/verify', { mfa_token: mfa, code: next });
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'user']);
    const again = await h.post('/v1/auth/totp/verify', { mfa_token: mfa, code: next });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('invalid_token');
    const otherChallenge = await challenge();
    const replayed = await h.post('/v1/auth/totp/verify', { mfa_token: otherChallenge, code: next });
    expect(replayed.status).toBe(401);
    expect(replayed.body.error.code).toBe('invalid_credentials');
  });

  it('accepts each backup code once', async () => {
    const code = backupCodes[0]!;
    const first = await h.post('/v1/auth/totp/verify', { mfa_token: await challenge(), code: code.toUpperCase() });
    expect(first.status).toBe(200);
    const second = await h.post('/v1/auth/totp/verify', { mfa_token: await challenge(), code });
    expect(second.status).toBe(401);
    expect(second.body.error.code).toBe('invalid_credentials');
    expect((await h.get('/v1/auth/totp/status', access)).body.backup_codes_remaining).toBe(9);
  });

  it('kills a challenge after 5 wrong codes', async () => {
    const mfa = await challenge();
    for (let i = 0; i < 5; i += 1) {
      const res = await h.post('/v1/auth/totp/verify', { mfa_token: mfa, code: 'aaaa-aaaa-aaaa-aaaa' });
      expect(res.status).toBe(401);
      expect(res.body.error.details).toEqual({ attempts_left: 4 - i });
    }
    const dead = await h.post('/v1/auth/totp/verify', { mfa_token: mfa, code: backupCodes[1]! });
    expect(dead.status).toBe(401);
    expect(dead.body.error.code).toBe('invalid_token');
    expect((await h.post('/v1/auth/totp/verify', { mfa_token: 'mfa_unknown', code: '123456' })).body.error.code).toBe('invalid_token');
    expect((await h.post('/v1/auth/totp/verify', { mfa_token: mfa })).status).toBe(400);
  });

  it('parallel guesses on one challenge get 5 attempts in total; a backup code used in parallel works once', async () => {
    const mfa = await challenge();
    const guesses = await Promise.all(Array.from({ length: 12 }, () => h.post('/v1/auth/totp/verify', { mfa_token: mfa, code: 'bbbb-bbbb-bbbb-bbbb' })));
    expect(guesses.filter((g) => g.body.error.code === 'invalid_credentials')).toHaveLength(5);
    expect(guesses.filter((g) => g.body.error.code === 'invalid_token')).toHaveLength(7);
    const challenges = await Promise.all(Array.from({ length: 6 }, () => challenge()));
    const uses = await Promise.all(challenges.map((c) => h.post('/v1/auth/totp/verify', { mfa_token: c, code: backupCodes[3]! })));
    expect(uses.filter((u) => u.status === 200)).toHaveLength(1);
  });

  it('regenerates backup codes with a current code: old codes die', async () => {
    const now = Date.now();
    await h.t.db.collection('users').updateOne({ email }, { $set: { 'totp.last_step': Math.floor(now / 30_000) } });
    await h.t.db.collection('auth_claims').deleteMany({ _id: { $regex: '^totp:' } } as never);
    const code = totpCode(secret, now + 30_000);
    const res = await h.post('/v1/auth/totp/backup-codes/regenerate', { code }, access);
    expect(res.status).toBe(200);
    expect(res.body.backup_codes).toHaveLength(10);
    const replay = await h.post('/v1/auth/totp/backup-codes/regenerate', { code }, access);
    expect(replay.status).toBe(401);
    const old = await h.post('/v1/auth/totp/verify', { mfa_token: await challenge(), code: backupCodes[2]! });
    expect(old.status).toBe(401);
    const fresh = await h.post('/v1/auth/totp/verify', { mfa_token: await challenge(), code: res.body.backup_codes[0] });
    expect(fresh.status).toBe(200);
    backupCodes = res.body.backup_codes;
  });

  it('disables with the password (wrong password 401; both or neither proof 400) and login is single-step again', async () => {
    expect((await h.post('/v1/auth/totp/disable', { password: 'wrong-password' }, access)).status).toBe(401);
    expect((await h.post('/v1/auth/totp/disable', {}, access)).status).toBe(400);
    expect((await h.post('/v1/auth/totp/disable', { password, code: '123456' }, access)).status).toBe(400);
    const res = await h.post('/v1/auth/totp/disable', { password }, access);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ enabled: false });
    expect((await h.post('/v1/auth/totp/disable', { password }, access)).status).toBe(409);
    const login = await h.post('/v1/auth/login', { email, password });
    expect(login.body.access_token).toEqual(expect.any(String));
    const types = (await h.t.db.collection('audit_log').find({}).toArray()).map((e) => e['type']);
    expect(types).toEqual(expect.arrayContaining(['totp_setup', 'totp_enabled', 'login_mfa_required', 'mfa_failed', 'backup_code_used', 'backup_codes_regenerated', 'totp_disabled']));
  });
});
