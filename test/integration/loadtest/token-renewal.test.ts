import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsersRepository } from '../../../api/repositories/users.js';
import { createOrPromoteAdmin } from '../../../api/services/admin/create-admin.js';
import { PasswordHasher } from '../../../api/services/auth/passwords.js';
import { ApiClient } from '../../../scripts/loadtest/api-client.js';
import { systemClock } from '../../../scripts/loadtest/clock.js';
import { seedHosts } from '../../../scripts/loadtest/seed.js';
import type { SeedState } from '../../../scripts/loadtest/state-file.js';
import { TokenRefresher } from '../../../scripts/loadtest/token-refresher.js';
import { TokenSession } from '../../../scripts/loadtest/token-session.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { until } from '../../helpers/poll.js';
import { call } from '../users/fixtures.js';
import { scratchDir } from '../../helpers/scratch.js';

const ADMIN = { email: 'renewal-admin@example.com', password: 'admin-password-1' };

describe('load-test token renewal against the real auth API', () => {
  let t: TestApi;
  let api: ApiClient;
  const dir = scratchDir('vidivo-lt-tokens');

  beforeAll(async () => {
    t = await startTestApi({ env: { RATE_LIMIT_EXEMPT_IPS: '["127.0.0.1"]', ARGON2_MEMORY_KIB: '19456', ARGON2_TIME_COST: '2' } });
    api = new ApiClient(t.url);
    await createOrPromoteAdmin({ users: new UsersRepository(t.db), passwords: new PasswordHasher(t.config.auth.argon2) }, ADMIN.email, ADMIN.password, new Date());
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rotates once for concurrent renewals; the renewed token works and the previous refresh token is spent', async () => {
    const session = await TokenSession.open({ refresh: (rt) => api.refresh(rt), login: () => api.login(ADMIN.email, ADMIN.password) }, systemClock.now);
    const first = { access: session.accessToken, refresh: session.refreshToken };
    await new Promise((r) => setTimeout(r, 1100));
    await Promise.all(Array.from({ length: 5 }, () => session.renew()));
    expect(session.refreshToken).not.toBe(first.refresh);
    expect(session.accessToken).not.toBe(first.access);
    const me = await call(t, 'GET', '/v1/users/me', { token: session.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.data.email).toBe(ADMIN.email);
    expect(await t.db.collection('audit_log').countDocuments({ type: 'refresh_reuse' })).toBe(0);
    expect(await t.db.collection('audit_log').countDocuments({ type: 'login' })).toBe(1);

    const spent = session.refreshToken;
    await session.renew();
    expect((await call(t, 'POST', '/v1/auth/refresh', { body: { refresh_token: spent } })).status).toBe(401);
    expect(await t.db.collection('audit_log').countDocuments({ type: 'refresh_reuse' })).toBe(1);
    await session.renew();
    expect(await t.db.collection('audit_log').countDocuments({ type: 'login' })).toBe(2);
    expect((await call(t, 'GET', '/v1/users/me', { token: session.accessToken })).status).toBe(200);
  });

  it('seeds hosts, renews their tokens on schedule and keeps the newest refresh token in the state file', async () => {
    const stateFile = join(dir, 'state.json');
    const reusesBefore = await t.db.collection('audit_log').countDocuments({ type: 'refresh_reuse' });
    const refresher = new TokenRefresher(systemClock, { refreshBeforeMs: 15 * 60_000, parallelism: 4, retryMs: 1000, tickMs: 200 });
    refresher.start();
    const seeded = await seedHosts({
      api, apiUrl: t.url, hosts: 3, stateFile, reuse: false, hostPassword: '', adminEmail: ADMIN.email, adminPassword: ADMIN.password,
      clock: systemClock, refresher, log: () => undefined,
    });
    expect(seeded.hosts).toHaveLength(3);
    const before = seeded.hosts.map((h) => h.session.accessToken);
    const renewedTokens: string[] = [];
    for (const h of seeded.hosts) h.session.onRenewed((s) => renewedTokens.push(s.accessToken));
    await until(() => seeded.hosts.every((h, i) => h.session.accessToken !== before[i]) && renewedTokens.length >= 6, 15_000, 'two renewals per host');
    await refresher.stop();
    seeded.stateFile.flush();
    expect(refresher.failed).toBe(0);
    expect(refresher.size).toBe(3);

    for (const h of seeded.hosts) {
      const link = await call(t, 'POST', '/v1/calls/links', { token: h.session.accessToken, body: { title: 'after renewal' } });
      expect(link.status).toBe(201);
    }
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as SeedState;
    expect(Object.fromEntries(state.hosts.map((h) => [h.email, h.refreshToken]))).toEqual(Object.fromEntries(seeded.hosts.map((h) => [h.email, h.session.refreshToken])));
    for (const h of state.hosts) {
      const res = await call(t, 'POST', '/v1/auth/refresh', { body: { refresh_token: h.refreshToken } });
      expect(res.status).toBe(200);
    }
    expect(await t.db.collection('audit_log').countDocuments({ type: 'refresh_reuse' })).toBe(reusesBefore);
  });
});
