import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('other unauthenticated auth endpoints: 30 per minute per IP', async () => {
    await exhaust('/v1/auth/refresh', { refresh_token: 'rt_x' }, 30, 60);
  });
});
