import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { call, makeGuest, makeHost, makeUser } from './fixtures.js';

describe('users: profile, host onboarding, rate, availability, public profile, search', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi(); });
  afterAll(async () => { await t.stop(); });

  describe('GET/PUT /v1/users/me', () => {
    it('returns the spec 004 user fields plus the profile', async () => {
      const { user, token } = await makeUser(t, 'user');
      const res = await call(t, 'GET', '/v1/users/me', { token });
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      expect(res.body.data).toMatchObject({ id: user.id, email: user.email, role: 'user', email_verified: false, username: null, available: false, available_now: false });
      expect(res.body.data).not.toHaveProperty('password_hash');
    });

    it('needs a token; a guest token is refused', async () => {
      expect((await call(t, 'GET', '/v1/users/me')).status).toBe(401);
      const guest = await makeGuest(t);
      expect((await call(t, 'GET', '/v1/users/me', { token: guest.token })).body.error.code).toBe('forbidden');
    });

    it('updates display name, bio, locale, time zone and username', async () => {
      const { token } = await makeUser(t, 'verified_user');
      const res = await call(t, 'PUT', '/v1/users/me', { token, body: { display_name: 'Jane Smith', bio: 'Hi', locale: 'en-us', time_zone: 'Europe/Paris', username: 'Jane_S' } });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ display_name: 'Jane Smith', bio: 'Hi', locale: 'en-US', time_zone: 'Europe/Paris', username: 'jane_s' });
      const cleared = await call(t, 'PUT', '/v1/users/me', { token, body: { bio: null } });
      expect(cleared.body.data.bio).toBeNull();
    });

    it('refuses unknown fields, long names, bad zones, locales and handles with field details', async () => {
      const { token } = await makeUser(t, 'user');
      const unknown = await call(t, 'PUT', '/v1/users/me', { token, body: { role: 'admin' } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toMatchObject({ code: 'validation_error', details: { role: 'is not allowed' } });
      expect((await call(t, 'PUT', '/v1/users/me', { token, body: { display_name: 'x'.repeat(81) } })).body.error.details).toHaveProperty('display_name');
      expect((await call(t, 'PUT', '/v1/users/me', { token, body: { time_zone: 'Mars/Base' } })).body.error.details).toHaveProperty('time_zone');
      expect((await call(t, 'PUT', '/v1/users/me', { token, body: { locale: 'not a locale!' } })).body.error.details).toHaveProperty('locale');
      expect((await call(t, 'PUT', '/v1/users/me', { token, body: { username: '1abc' } })).body.error.details).toHaveProperty('username');
      expect((await call(t, 'PUT', '/v1/users/me', { token, body: { username: 'admin' } })).body.error.details).toEqual({ username: 'is reserved' });
    });

    it('answers 409 for a username someone else holds (case-insensitively)', async () => {
      const a = await makeUser(t, 'user');
      const b = await makeUser(t, 'user');
      expect((await call(t, 'PUT', '/v1/users/me', { token: a.token, body: { username: 'taken_name' } })).status).toBe(200);
      const res = await call(t, 'PUT', '/v1/users/me', { token: b.token, body: { username: 'Taken_Name' } });
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'conflict', details: { username: 'is taken' } });
    });
  });

  describe('POST /v1/users/me/become-host', () => {
    it('promotes a verified 18+ user with a unique username', async () => {
      const { user, token } = await makeUser(t, 'verified_user');
      const res = await call(t, 'POST', '/v1/users/me/become-host', { token, body: { username: 'newhost1', date_of_birth: '2000-02-29' } });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ id: user.id, role: 'host', username: 'newhost1', date_of_birth: '2000-02-29' });
      const again = await call(t, 'POST', '/v1/users/me/become-host', { token, body: {} });
      expect(again.status).toBe(409);
      expect(again.body.error.details).toEqual({ reason: 'already_host' });
    });

    it('refuses minors, missing fields and unverified users', async () => {
      const { token } = await makeUser(t, 'verified_user');
      const today = new Date();
      const minor = `${today.getUTCFullYear() - 17}-01-01`;
      const res = await call(t, 'POST', '/v1/users/me/become-host', { token, body: { username: 'younghost', date_of_birth: minor } });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toHaveProperty('date_of_birth');
      const missing = await call(t, 'POST', '/v1/users/me/become-host', { token, body: {} });
      expect(Object.keys(missing.body.error.details).sort()).toEqual(['date_of_birth', 'username']);
      expect((await call(t, 'POST', '/v1/users/me/become-host', { token, body: { date_of_birth: '2025-02-30' } })).status).toBe(400);
      const unverified = await makeUser(t, 'user');
      expect((await call(t, 'POST', '/v1/users/me/become-host', { token: unverified.token, body: { username: 'someone', date_of_birth: '1990-01-01' } })).status).toBe(403);
    });

    it('refuses a username taken by another user', async () => {
      const host = await makeHost(t);
      const { token } = await makeUser(t, 'verified_user');
      const res = await call(t, 'POST', '/v1/users/me/become-host', { token, body: { username: host.user.username, date_of_birth: '1990-01-01' } });
      expect(res.status).toBe(409);
    });
  });

  describe('host settings', () => {
    it('sets a rate within bounds (hosts only)', async () => {
      const host = await makeHost(t);
      const res = await call(t, 'PUT', '/v1/users/me/rate', { token: host.token, body: { amount: 150, currency: 'eur' } });
      expect(res.status).toBe(200);
      expect(res.body.data.rate).toEqual({ amount: 150, currency: 'EUR' });
      expect((await call(t, 'PUT', '/v1/users/me/rate', { token: host.token, body: { amount: 10, currency: 'USD' } })).body.error.details).toHaveProperty(['rate.amount']);
      expect((await call(t, 'PUT', '/v1/users/me/rate', { token: host.token, body: { amount: 100000000, currency: 'USD' } })).status).toBe(400);
      expect((await call(t, 'PUT', '/v1/users/me/rate', { token: host.token, body: { amount: 100, currency: 'JPY' } })).body.error.details).toHaveProperty(['rate.currency']);
      expect((await call(t, 'PUT', '/v1/users/me/rate', { token: host.token, body: { amount: 1.5, currency: 'USD' } })).status).toBe(400);
      const user = await makeUser(t, 'verified_user');
      expect((await call(t, 'PUT', '/v1/users/me/rate', { token: user.token, body: { amount: 150, currency: 'USD' } })).status).toBe(403);
    });

    it('sets and flips the availability toggle', async () => {
      const host = await makeHost(t, { available: false });
      expect((await call(t, 'PUT', '/v1/users/me/toggle-available', { token: host.token, body: { available: true } })).body.data).toEqual({ available: true, available_now: true });
      expect((await call(t, 'PUT', '/v1/users/me/toggle-available', { token: host.token })).body.data).toEqual({ available: false, available_now: false });
      const user = await makeUser(t, 'user');
      expect((await call(t, 'PUT', '/v1/users/me/toggle-available', { token: user.token })).status).toBe(403);
    });

    it('stores a valid weekly schedule and refuses overlaps', async () => {
      const host = await makeHost(t);
      const intervals = [{ day: 1, start: '09:00', end: '17:00' }, { day: 5, start: '22:00', end: '02:00', overnight: true }];
      const put = await call(t, 'PUT', '/v1/users/me/availability', { token: host.token, body: { time_zone: 'America/New_York', intervals } });
      expect(put.status).toBe(200);
      expect(put.body.data).toMatchObject({ time_zone: 'America/New_York', intervals, available: true });
      expect(typeof put.body.data.available_now).toBe('boolean');
      const get = await call(t, 'GET', '/v1/users/me/availability', { token: host.token });
      expect(get.body.data.intervals).toEqual(intervals);
      const overlap = await call(t, 'PUT', '/v1/users/me/availability', { token: host.token, body: { intervals: [{ day: 1, start: '09:00', end: '12:00' }, { day: 1, start: '11:00', end: '13:00' }] } });
      expect(overlap.status).toBe(400);
      expect(overlap.body.error.details).toEqual({ 'intervals.1': 'overlaps interval 0' });
      const backwards = await call(t, 'PUT', '/v1/users/me/availability', { token: host.token, body: { intervals: [{ day: 1, start: '12:00', end: '09:00' }] } });
      expect(backwards.body.error.details).toHaveProperty(['intervals.0.end']);
      const badTime = await call(t, 'PUT', '/v1/users/me/availability', { token: host.token, body: { intervals: [{ day: 1, start: '9:00', end: '12:00' }] } });
      expect(badTime.status).toBe(400);
      expect((await call(t, 'GET', '/v1/users/me/availability', { token: host.token })).body.data.intervals).toEqual(intervals);
    });
  });

  describe('public profile, handle availability, search', () => {
    it('shows a host publicly without private fields, and 404s everyone else', async () => {
      const host = await makeHost(t, { bio: 'Tarot', time_zone: 'Europe/Berlin' });
      const res = await call(t, 'GET', `/v1/users/${host.user.username!.toUpperCase()}`);
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ id: host.user.id, username: host.user.username, bio: 'Tarot', rate: { amount: 200, currency: 'USD' }, available_now: true });
      for (const key of ['email', 'date_of_birth', 'locale', 'role', 'email_verified', 'password_hash']) expect(res.body.data).not.toHaveProperty(key);
      const nonHost = await makeUser(t, 'verified_user', { username: 'justauser' });
      expect((await call(t, 'GET', `/v1/users/${nonHost.user.username}`)).status).toBe(404);
      expect((await call(t, 'GET', '/v1/users/nobody_here')).body.error.code).toBe('not_found');
    });

    it('tells whether a handle can be claimed', async () => {
      const host = await makeHost(t);
      expect((await call(t, 'GET', '/v1/users/handle/fresh_handle/available')).body.data).toEqual({ handle: 'fresh_handle', available: true, reason: null });
      expect((await call(t, 'GET', `/v1/users/handle/${host.user.username}/available`)).body.data).toMatchObject({ available: false, reason: 'taken' });
      expect((await call(t, 'GET', '/v1/users/handle/admin/available')).body.data).toMatchObject({ available: false, reason: 'reserved' });
      expect((await call(t, 'GET', '/v1/users/handle/a-b/available')).body.data).toMatchObject({ available: false, reason: 'invalid_format' });
    });

    it('searches hosts by username and display-name prefix, paginated', async () => {
      const { token } = await makeUser(t, 'verified_user', { display_name: 'Zelda Quartz' });
      await call(t, 'POST', '/v1/users/me/become-host', { token, body: { username: 'zq_reader', date_of_birth: '1980-05-05' } });
      const other = await makeUser(t, 'verified_user', { display_name: 'Zelda Quill' });
      await call(t, 'POST', '/v1/users/me/become-host', { token: other.token, body: { username: 'zq_writer', date_of_birth: '1980-05-05' } });
      await makeUser(t, 'verified_user', { display_name: 'Zelda Nothost', search_terms: ['zelda'] });
      const byName = await call(t, 'GET', '/v1/search/users?q=zel&per_page=1');
      expect(byName.status).toBe(200);
      expect(byName.body.pagination).toEqual({ page: 1, per_page: 1, total: 2, total_pages: 2 });
      expect(byName.body.data[0]).toMatchObject({ username: 'zq_reader' });
      expect(byName.body.data[0]).not.toHaveProperty('email');
      const page2 = await call(t, 'GET', '/v1/search/users?q=zel&per_page=1&page=2');
      expect(page2.body.data[0]).toMatchObject({ username: 'zq_writer' });
      expect((await call(t, 'GET', '/v1/search/users?q=QUART')).body.data.map((h: { username: string }) => h.username)).toEqual(['zq_reader']);
      expect((await call(t, 'GET', '/v1/search/users?q=zq_w')).body.data).toHaveLength(1);
      expect((await call(t, 'GET', '/v1/search/users?q=.*')).body.data).toHaveLength(0);
      expect((await call(t, 'GET', '/v1/search/users')).status).toBe(400);
      expect((await call(t, 'GET', '/v1/search/users?q=z&per_page=101')).status).toBe(400);
    });
  });
});
