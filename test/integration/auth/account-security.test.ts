import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthHarness, type AuthHarness } from './harness.js';
import { tokenFromMail } from './support.js';

describe('change password, change email', () => {
  let h: AuthHarness;
  beforeAll(async () => { h = await startAuthHarness(); });
  afterAll(async () => { await h.stop(); });

  it('changes the password: current one required, other sessions revoked, the caller\'s session kept', async () => {
    const reg = await h.register('changer@example.com', 'First-Password1');
    const other = await h.post('/v1/auth/login', { email: 'changer@example.com', password: 'First-Password1' });
    const wrong = await h.post('/v1/auth/password/change', { current_password: 'nope-nope', new_password: 'Second-Password2' }, reg.access_token);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const weak = await h.post('/v1/auth/password/change', { current_password: 'First-Password1', new_password: 'short' }, reg.access_token);
    expect(weak.status).toBe(400);
    const res = await h.post('/v1/auth/password/change', { current_password: 'First-Password1', new_password: 'Second-Password2', refresh_token: reg.refresh_token }, reg.access_token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'password changed successfully', sessions_revoked: 1 });
    expect((await h.post('/v1/auth/refresh', { refresh_token: other.body.refresh_token })).status).toBe(401);
    expect((await h.post('/v1/auth/refresh', { refresh_token: reg.refresh_token })).status).toBe(200);
    expect((await h.post('/v1/auth/login', { email: 'changer@example.com', password: 'Second-Password2' })).status).toBe(200);
    await h.mailbox.waitFor('changer@example.com', 'Your password was changed');
    expect(await h.t.db.collection('audit_log').countDocuments({ type: 'password_change', user_id: reg.user.id })).toBe(1);
  });

  it('changes the email through a link to the new address; the old address is told', async () => {
    const reg = await h.register('old-address@example.com', 'Mail-Password1');
    const taken = await h.post('/v1/auth/email/change', { new_email: 'changer@example.com', password: 'Mail-Password1' }, reg.access_token);
    expect(taken.status).toBe(409);
    const wrongPassword = await h.post('/v1/auth/email/change', { new_email: 'new-address@example.com', password: 'bad-password' }, reg.access_token);
    expect(wrongPassword.status).toBe(401);
    const res = await h.post('/v1/auth/email/change', { new_email: 'New-Address@example.com', password: 'Mail-Password1' }, reg.access_token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'a confirmation link has been sent to the new email address' });
    await h.mailbox.waitFor('old-address@example.com', 'Your email address is being changed');
    const token = tokenFromMail(await h.mailbox.waitFor('new-address@example.com', 'Confirm your new email address'));
    const confirm = await h.post('/v1/auth/email/confirm', { token });
    expect(confirm.status).toBe(200);
    expect(confirm.body).toEqual({ message: 'email changed successfully' });
    expect((await h.post('/v1/auth/email/confirm', { token })).status).toBe(401);
    await h.mailbox.waitFor('old-address@example.com', 'Your email address was changed');
    expect((await h.post('/v1/auth/login', { email: 'old-address@example.com', password: 'Mail-Password1' })).status).toBe(401);
    const login = await h.post('/v1/auth/login', { email: 'new-address@example.com', password: 'Mail-Password1' });
    expect(login.body.user).toMatchObject({ email: 'new-address@example.com', email_verified: true, role: 'verified_user' });
    const oldVerify = tokenFromMail(await h.mailbox.waitFor('old-address@example.com', 'Verify your email'));
    expect((await h.post('/v1/auth/verify-email', { token: oldVerify })).status).toBe(401);
    expect(await h.t.db.collection('audit_log').countDocuments({ type: { $in: ['email_change_requested', 'email_changed'] }, user_id: reg.user.id })).toBe(2);
    expect((await h.post('/v1/auth/email/confirm', { token: 'email_bogus' })).body.error.code).toBe('invalid_token');
  });

  it('an account without a password cannot use password change (409)', async () => {
    const g = await h.post('/v1/auth/google', { id_token: await h.google.sign({ sub: 'g-1', email: 'nopass@example.com', email_verified: true }) });
    const res = await h.post('/v1/auth/password/change', { current_password: 'whatever1', new_password: 'Whatever-New1' }, g.body.access_token);
    expect(res.status).toBe(409);
  });
});
