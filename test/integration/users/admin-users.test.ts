import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsersRepository } from '../../../api/repositories/users.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { call, makeUser, type Reply } from './fixtures.js';

const PASSWORD = 'seeded-password-1';

function host(tag: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    email: `seed-${tag}@loadtest.invalid`, password: PASSWORD, role: 'host', username: `seed_${tag}`,
    display_name: `Seeded ${tag}`, rate: { amount: 100, currency: 'USD' }, available: true, ...fields,
  };
}

function tag(): string {
  return randomBytes(4).toString('hex');
}

function expectValidation(res: Reply, fields: string[]): void {
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('validation_error');
  expect(Object.keys(res.body.error.details).sort()).toEqual([...fields].sort());
}

describe('POST /v1/admin/users', () => {
  let t: TestApi;
  let admin: string;
  const seed = (body: unknown, token = admin) => call(t, 'POST', '/v1/admin/users', { token, body });

  beforeAll(async () => {
    t = await startTestApi({ env: { RATE_MIN_MINOR: '50', RATE_MAX_MINOR: '5000', RATE_CURRENCIES: '["USD","EUR"]', RATE_LIMIT_EXEMPT_IPS: '["127.0.0.1"]' } });
    admin = (await makeUser(t, 'admin')).token;
  });
  afterAll(async () => { await t.stop(); });

  it('answers 401 without a token and 403 for users and hosts', async () => {
    const body = { users: [host(tag())] };
    const anonymous = await call(t, 'POST', '/v1/admin/users', { body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('unauthorized');
    for (const role of ['user', 'verified_user', 'host'] as const) {
      const res = await seed(body, (await makeUser(t, role)).token);
      expect(res.status, role).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect(await new UsersRepository(t.db).findByEmail(String(body.users[0]!['email']))).toBeNull();
  });

  it('refuses an empty list, more than 500 users and unknown top-level fields', async () => {
    expectValidation(await seed({ users: [] }), ['users']);
    const many = Array.from({ length: 501 }, (_, i) => ({ email: `many-${i}@example.com`, password: PASSWORD, role: 'user' }));
    const tooMany = await seed({ users: many });
    expectValidation(tooMany, ['users']);
    expect(tooMany.body.error.details.users).toBe('must have at most 500 items');
    expectValidation(await seed({}), ['users']);
    expectValidation(await seed({ users: [host(tag())], dry_run: true }), ['dry_run']);
  });

  it('names each bad field: email, password, role, unknown fields', async () => {
    const res = await seed({
      users: [
        host(tag(), { email: 'not-an-email' }),
        host(tag(), { password: 'short' }),
        host(tag(), { role: 'superuser' }),
        host(tag(), { role: 'guest' }),
        host(tag(), { is_admin: true }),
        host(tag(), { rate: { amount: 100, currency: 'USD', tip: 1 } }),
      ],
    });
    expectValidation(res, ['users.0.email', 'users.1.password', 'users.2.role', 'users.3.role', 'users.4.is_admin', 'users.5.rate.tip']);
    expect(res.body.error.details['users.0.email']).toBe('must be a valid email address');
    expect(res.body.error.details['users.1.password']).toBe('must be at least 8 characters');
    expect(res.body.error.details['users.4.is_admin']).toBe('is not allowed');
  });

  it('requires a valid username for hosts and a rate within the configured bounds', async () => {
    const noUsername = host(tag());
    delete noUsername['username'];
    const res = await seed({
      users: [
        noUsername,
        host(tag(), { username: '1bad' }),
        host(tag(), { username: 'admin' }),
        host(tag(), { rate: { amount: 49, currency: 'USD' } }),
        host(tag(), { rate: { amount: 5001, currency: 'USD' } }),
        host(tag(), { rate: { amount: 100, currency: 'GBP' } }),
      ],
    });
    expectValidation(res, ['users.0.username', 'users.1.username', 'users.2.username', 'users.3.rate.amount', 'users.4.rate.amount', 'users.5.rate.currency']);
    expect(res.body.error.details['users.0.username']).toBe('is required for role host');
    expect(res.body.error.details['users.2.username']).toBe('is reserved');
    expect(res.body.error.details['users.3.rate.amount']).toBe('must be between 50 and 5000 minor units');
  });

  it('refuses host settings on non-host roles and repeated emails or usernames within a request', async () => {
    const a = tag();
    const res = await seed({
      users: [
        { email: `plain-${a}@example.com`, password: PASSWORD, role: 'user', rate: { amount: 100, currency: 'USD' }, available: true },
        host(a),
        host(tag(), { email: `SEED-${a}@loadtest.invalid` }),
        host(tag(), { username: `Seed_${a}` }),
      ],
    });
    expectValidation(res, ['users.0.rate', 'users.0.available', 'users.2.email', 'users.3.username']);
  });

  it('creates nothing when any entry is invalid', async () => {
    const good = host(tag());
    expectValidation(await seed({ users: [good, host(tag(), { password: 'short' })] }), ['users.1.password']);
    expect(await new UsersRepository(t.db).findByEmail(String(good['email']))).toBeNull();
  });

  it('creates hosts that can sign in, are available and can make a link; never returns secrets', async () => {
    const a = tag();
    const b = tag();
    const res = await seed({ users: [host(a, { email: `Seed-${a}@LoadTest.invalid` }), { email: `staff-${b}@example.com`, password: PASSWORD, role: 'verified_user' }] });
    expect(res.status).toBe(201);
    expect(res.body.success).toBe(true);
    expect(res.body.data.users).toEqual([
      { email: `seed-${a}@loadtest.invalid`, status: 'created', id: expect.any(String), role: 'host', username: `seed_${a}` },
      { email: `staff-${b}@example.com`, status: 'created', id: expect.any(String), role: 'verified_user' },
    ]);
    const raw = JSON.stringify(res.body);
    expect(raw).not.toContain(PASSWORD);
    expect(raw).not.toMatch(/password|hash|token|argon2/i);

    const stored = await new UsersRepository(t.db).findByEmail(`seed-${a}@loadtest.invalid`);
    expect(stored).toMatchObject({ role: 'host', email_verified: true, username: `seed_${a}`, rate: { amount: 100, currency: 'USD' }, available: true });
    expect(stored!.password_hash).toMatch(/^\$argon2id\$/);

    const login = await call(t, 'POST', '/v1/auth/login', { body: { email: `seed-${a}@loadtest.invalid`, password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ role: 'host', email_verified: true });
    const token = login.body.access_token as string;
    const me = await call(t, 'GET', '/v1/users/me', { token });
    expect(me.body.data).toMatchObject({ role: 'host', username: `seed_${a}`, display_name: `Seeded ${a}`, available: true, available_now: true, rate: { amount: 100, currency: 'USD' } });
    const profile = await call(t, 'GET', `/v1/users/seed_${a}`);
    expect(profile.status).toBe(200);
    expect(profile.body.data.available_now).toBe(true);
    const link = await call(t, 'POST', '/v1/calls/links', { token, body: { title: 'seeded' } });
    expect(link.status).toBe(201);
  });

  it('reports a taken email as `exists` and leaves that account untouched', async () => {
    const a = tag();
    const first = await seed({ users: [host(a)] });
    expect(first.body.data.users[0].status).toBe('created');
    const repo = new UsersRepository(t.db);
    const before = await repo.findByEmail(`seed-${a}@loadtest.invalid`);

    const b = tag();
    const again = await seed({
      users: [
        host(tag(), { email: `SEED-${a}@loadtest.invalid`, password: 'another-password', role: 'admin', display_name: 'Changed', rate: { amount: 999, currency: 'EUR' }, available: false }),
        host(b),
      ],
    });
    expect(again.status).toBe(201);
    expect(again.body.data.users).toEqual([
      { email: `seed-${a}@loadtest.invalid`, status: 'exists' },
      expect.objectContaining({ email: `seed-${b}@loadtest.invalid`, status: 'created' }),
    ]);
    expect(await repo.findByEmail(`seed-${a}@loadtest.invalid`)).toEqual(before);
    const login = await call(t, 'POST', '/v1/auth/login', { body: { email: `seed-${a}@loadtest.invalid`, password: 'another-password' } });
    expect(login.status).toBe(401);
  });

  it('reports a username held by another account as `username_taken` and creates nothing for it', async () => {
    const a = tag();
    expect((await seed({ users: [host(a)] })).body.data.users[0].status).toBe('created');
    const other = `other-${tag()}@loadtest.invalid`;
    const res = await seed({ users: [host(tag(), { email: other, username: `seed_${a}` })] });
    expect(res.status).toBe(201);
    expect(res.body.data.users).toEqual([{ email: other, status: 'username_taken', username: `seed_${a}` }]);
    expect(await new UsersRepository(t.db).findByEmail(other)).toBeNull();
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await call(t, 'GET', '/openapi.json')).body;
    const op = doc.paths['/v1/admin/users'].post;
    expect(op.operationId).toBe('adminCreateUsers');
    expect(op.description).toContain('admin');
    expect(Object.keys(op.responses).sort()).toEqual(['201', '400', '401', '403', '429', '500']);
    const item = op.requestBody.content['application/json'].schema.properties.users;
    expect(item.maxItems).toBe(500);
    expect(item.items.required).toEqual(['email', 'password', 'role']);
    expect(op.responses['201'].content['application/json'].schema.properties.data.properties.users.items.properties.status.enum).toEqual(['created', 'exists', 'username_taken']);
  });
});
