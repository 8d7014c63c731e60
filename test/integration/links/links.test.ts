import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallLinksRepository } from '../../../api/repositories/call-links.js';
import { SHORT_CODE_PATTERN } from '../../../api/services/links/short-code.js';
import { newId } from '../../../shared/ids.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { call, makeGuest, makeHost, makeUser } from '../users/fixtures.js';

describe('call links', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi(); });
  afterAll(async () => { await t.stop(); });

  it('lets a host create a link with options', async () => {
    const host = await makeHost(t);
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const res = await call(t, 'POST', '/v1/calls/links', { token: host.token, body: { title: 'Readings', rate: { amount: 300, currency: 'usd' }, max_duration_sec: 600, expires_at: expires, single_use: true } });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ title: 'Readings', rate: { amount: 300, currency: 'USD' }, max_duration_sec: 600, expires_at: expires, single_use: true, uses: 0, status: 'active' });
    expect(res.body.data.short_code).toMatch(new RegExp(SHORT_CODE_PATTERN));
  });

  it('refuses guests, users and verified users (403), and bad input (400)', async () => {
    const guest = await makeGuest(t);
    expect((await call(t, 'POST', '/v1/calls/links', { token: guest.token, body: {} })).status).toBe(403);
    for (const role of ['user', 'verified_user'] as const) {
      const u = await makeUser(t, role);
      expect((await call(t, 'POST', '/v1/calls/links', { token: u.token, body: {} })).status).toBe(403);
    }
    expect((await call(t, 'POST', '/v1/calls/links', { body: {} })).status).toBe(401);
    const host = await makeHost(t);
    const bad = await call(t, 'POST', '/v1/calls/links', { token: host.token, body: { expires_at: '2001-01-01T00:00:00Z', max_duration_sec: 999999 } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.details).sort()).toEqual(['expires_at', 'max_duration_sec']);
    expect((await call(t, 'POST', '/v1/calls/links', { token: host.token, body: { colour: 'red' } })).body.error.details).toEqual({ colour: 'is not allowed' });
    expect((await call(t, 'POST', '/v1/calls/links', { token: host.token, body: { rate: { amount: 1, currency: 'USD' } } })).status).toBe(400);
    const rateless = await makeHost(t, { rate: undefined });
    expect((await call(t, 'POST', '/v1/calls/links', { token: rateless.token, body: {} })).body.error.details).toHaveProperty('rate');
  });

  it('lists only the caller\'s live links, newest first, paginated', async () => {
    const host = await makeHost(t);
    const other = await makeHost(t);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call(t, 'POST', '/v1/calls/links', { token: host.token, body: { title: `L${i}` } })).body.data.id);
    await call(t, 'POST', '/v1/calls/links', { token: other.token, body: {} });
    const page1 = await call(t, 'GET', '/v1/calls/links?per_page=2', { token: host.token });
    expect(page1.status).toBe(200);
    expect(page1.body.pagination).toEqual({ page: 1, per_page: 2, total: 3, total_pages: 2 });
    expect(page1.body.data.map((l: { title: string }) => l.title)).toEqual(['L2', 'L1']);
    await call(t, 'DELETE', `/v1/calls/links/${ids[2]}`, { token: host.token });
    const after = await call(t, 'GET', '/v1/calls/links', { token: host.token });
    expect(after.body.data.map((l: { id: string }) => l.id)).toEqual([ids[1], ids[0]]);
    expect((await call(t, 'GET', '/v1/calls/links?per_page=0', { token: host.token })).status).toBe(400);
  });

  it('deletes own links only; others\' are 404; an admin may delete any', async () => {
    const host = await makeHost(t);
    const other = await makeHost(t);
    const link = (await call(t, 'POST', '/v1/calls/links', { token: host.token, body: {} })).body.data;
    const foreign = await call(t, 'DELETE', `/v1/calls/links/${link.id}`, { token: other.token });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const own = await call(t, 'DELETE', `/v1/calls/links/${link.id}`, { token: host.token });
    expect(own.status).toBe(200);
    expect(own.body.data).toEqual({ id: link.id, deleted: true });
    expect((await call(t, 'DELETE', `/v1/calls/links/${link.id}`, { token: host.token })).status).toBe(404);
    expect((await call(t, 'GET', `/v1/calls/links/${link.short_code}/info`)).body.error).toMatchObject({ code: 'gone', details: { reason: 'deleted' } });
    const second = (await call(t, 'POST', '/v1/calls/links', { token: other.token, body: {} })).body.data;
    const admin = await makeUser(t, 'admin');
    expect((await call(t, 'DELETE', `/v1/calls/links/${second.id}`, { token: admin.token })).status).toBe(200);
  });

  it('shows public info without private host fields', async () => {
    const host = await makeHost(t, { display_name: 'Madame X', avatar_url: 'http://example.test/a.png' });
    const link = (await call(t, 'POST', '/v1/calls/links', { token: host.token, body: { title: 'Hello' } })).body.data;
    const info = await call(t, 'GET', `/v1/calls/links/${link.short_code}/info`);
    expect(info.status).toBe(200);
    expect(info.body.data).toEqual({
      short_code: link.short_code, title: 'Hello', host: { username: host.user.username, display_name: 'Madame X', avatar_url: 'http://example.test/a.png' },
      rate: { amount: 200, currency: 'USD' }, max_duration_sec: null, single_use: false, expires_at: null, host_available: true,
    });
    expect(JSON.stringify(info.body)).not.toContain(host.user.email);
    expect(JSON.stringify(info.body)).not.toContain(host.user.id);
    expect((await call(t, 'GET', '/v1/calls/links/zzzzzzzzzz/info')).status).toBe(404);
  });

  it('answers 410 for an expired link', async () => {
    const host = await makeHost(t);
    const now = new Date();
    await new CallLinksRepository(t.db).create({
      id: newId(), short_code: 'expiredab2', host_id: host.user.id, title: null, rate: null, max_duration_sec: null,
      expires_at: new Date(now.getTime() - 1000), single_use: false, deleted_at: null, created_at: now, updated_at: now,
    });
    const res = await call(t, 'GET', '/v1/calls/links/expiredab2/info');
    expect(res.status).toBe(410);
    expect(res.body.error.details).toEqual({ reason: 'expired' });
  });
});
