import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeUser } from '../users/fixtures.js';
import { startAuthHarness, type AuthHarness } from './harness.js';

/** The spec 000 table, per IP, in Redis: exact X-RateLimit-* and Retry-After values. */
describe('auth rate limits (spec 000, Redis store)', () => {
  let h: AuthHarness;
  beforeAll(async () => { h = await startAuthHarness({ specLimits: true, withRedis: true }); });
  afterAll(async () => { await h.stop(); });

  async function exhaust(path: string, body: unknown, limit: number, windowSec: number): Promise<void> {
    const started = Date.now();
    for (let i = 1; i <= limit; i += 1) {
      const res = await h.post(path, body);
      expect(res.status).not.toBe(429);
      expect(res.headers.get('x-ratelimit-limit')).toBe(String(limit));
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(limit - i));
    }
    const blocked = await h.post(path, body);
    const elapsedSec = Math.ceil((Date.now() - started) / 1000);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(blocked.body.error.details).toBeNull();
    expect(blocked.headers.get('x-ratelimit-limit')).toBe(String(limit));
    expect(blocked.headers.get('x-ratelimit-remaining')).toBe('0');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeLessThanOrEqual(windowSec);
    expect(retryAfter).toBeGreaterThanOrEqual(windowSec - elapsedSec);
    const reset = Number(blocked.headers.get('x-ratelimit-reset'));
    const nowSec = Date.now() / 1000;
    expect(reset - nowSec).toBeGreaterThan(retryAfter - 2);
    expect(reset - nowSec).toBeLessThanOrEqual(retryAfter + 1);
    const keys = await h.t.redis!.keys(`${h.t.config.redis.prefix}:rl:*`);
    expect(keys.length).toBeGreaterThan(0);
  }

  it('login: 5 per 15 minutes per IP', async () => {
    await exhaust('/v1/auth/login', { email: 'nobody@example.com', password: 'whatever-1' }, 5, 900);
  });

  it('register: 3 per hour per IP', async () => {
    let n = 0;
    const started = Date.now();
    for (let i = 1; i <= 3; i += 1) {
      const res = await h.post('/v1/auth/register', { email: `rl${(n += 1)}@example.com`, password: 'Rate-Limit-1' });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(3 - i));
    }
    const blocked = await h.post('/v1/auth/register', { email: 'rl-blocked@example.com', password: 'Rate-Limit-1' });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('x-ratelimit-limit')).toBe('3');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(3600 - Math.ceil((Date.now() - started) / 1000));
  });

  it('password reset: 10 per hour per IP', async () => {
    await exhaust('/v1/auth/password/reset', { email: 'nobody@example.com' }, 10, 3600);
  });

  it('Google and Apple use the login limits, each on its own route', async () => {
    await exhaust('/v1/auth/google', { id_token: 'x' }, 5, 900);
    await exhaust('/v1/auth/apple', { id_token: 'x' }, 5, 900);
  });

  it('other unauthenticated endpoints: one budget of 30 per minute per IP across them all', async () => {
    const routes: Array<[string, unknown]> = [
      ['/v1/auth/refresh', { refresh_token: 'rt_x' }], ['/v1/auth/logout', { refresh_token: 'rt_x' }], ['/v1/auth/verify-email', { token: 'x' }],
    ];
    for (let i = 1; i <= 30; i += 1) {
      const [path, body] = routes[i % routes.length]!;
      const res = await h.post(path, body);
      expect(res.status, path).not.toBe(429);
      expect(res.headers.get('x-ratelimit-limit')).toBe('30');
      expect(res.headers.get('x-ratelimit-remaining'), `${path} #${i}`).toBe(String(30 - i));
    }
    for (const [path, body] of [...routes, ['/v1/auth/guest-session', {}] as [string, unknown]]) {
      const blocked = await h.post(path, body);
      expect(blocked.status, path).toBe(429);
      expect(blocked.headers.get('x-ratelimit-limit')).toBe('30');
    }
    // The named rules keep budgets of their own.
    expect((await h.post('/v1/auth/login', { email: 'nobody@example.com', password: 'whatever-1' })).headers.get('x-ratelimit-limit')).toBe('5');
  });

  it('authenticated endpoints: one budget of 100 per minute per user across them all', async () => {
    const user = await makeUser(h.t, 'user');
    const get = (path: string, token = user.token) => fetch(`${h.t.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const paths = ['/v1/users/me', '/v1/calls/history'];
    for (let i = 1; i <= 100; i += 1) {
      const res = await get(paths[i % 2]!);
      expect(res.status).not.toBe(429);
      expect(res.headers.get('x-ratelimit-remaining'), `#${i}`).toBe(String(100 - i));
    }
    for (const path of [...paths, '/v1/calls/01ARZ3NDEKTSV4RRFFQ69G5FAV']) expect((await get(path)).status, path).toBe(429);
    const other = await makeUser(h.t, 'user');
    expect((await get('/v1/users/me', other.token)).status).toBe(200);
  });
});
