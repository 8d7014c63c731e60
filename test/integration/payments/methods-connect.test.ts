import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi } from '../../helpers/api.js';
import { call, makeGuest, makeHost, makeUser } from '../users/fixtures.js';
import { deliver, startPaymentsHarness, stripeEvent, type PaymentsHarness } from './harness.js';

describe('saved payment methods against stripe-mock', () => {
  let h: PaymentsHarness;
  beforeAll(async () => { h = await startPaymentsHarness(); });
  afterAll(async () => { await h?.stop(); });

  it('creates a SetupIntent on the caller\'s own Stripe customer (one customer per principal)', async () => {
    const guest = await makeGuest(h.t);
    const first = await call(h.t, 'POST', '/v1/payments/methods/setup-intent', { token: guest.token });
    expect(first.status).toBe(201);
    expect(first.body.data).toMatchObject({ id: expect.stringMatching(/^seti_/), client_secret: expect.any(String), customer_id: expect.stringMatching(/^cus_/) });
    const second = await call(h.t, 'POST', '/v1/payments/methods/setup-intent', { token: guest.token });
    expect(second.body.data.customer_id).toBe(first.body.data.customer_id);
    const customerCreates = h.proxy.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers');
    expect(customerCreates).toHaveLength(1);
    const setupRequests = h.proxy.requests.filter((r) => r.path === '/v1/setup_intents');
    expect(setupRequests).toHaveLength(2);
  });

  it('replays a SetupIntent for the same X-Idempotency-Key without a second Stripe call', async () => {
    const user = await makeUser(h.t, 'user');
    const key = randomUUID();
    const before = h.proxy.requests.filter((r) => r.path === '/v1/setup_intents').length;
    const a = await call(h.t, 'POST', '/v1/payments/methods/setup-intent', { token: user.token, headers: { 'X-Idempotency-Key': key } });
    const b = await call(h.t, 'POST', '/v1/payments/methods/setup-intent', { token: user.token, headers: { 'X-Idempotency-Key': key } });
    expect(a.status).toBe(201);
    expect(b.body).toEqual(a.body);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const setups = h.proxy.requests.filter((r) => r.path === '/v1/setup_intents').slice(before);
    expect(setups).toHaveLength(1);
    expect(setups[0]!.idempotencyKey).toMatch(/^vidivo_setup_intent_/);
  });

  it('attaches, lists and deletes a card; others cannot see or delete it', async () => {
    const owner = await makeUser(h.t, 'user');
    const other = await makeGuest(h.t);
    const saved = await call(h.t, 'POST', '/v1/payments/methods', { token: owner.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(saved.status).toBe(201);
    expect(saved.body.data).toMatchObject({ id: 'pm_card_visa', brand: 'visa', last4: '4242', exp_month: expect.any(Number) });
    const attach = h.proxy.requests.filter((r) => r.path === '/v1/payment_methods/pm_card_visa/attach');
    expect(attach.at(-1)?.status).toBe(200);
    const listed = await call(h.t, 'GET', '/v1/payments/methods', { token: owner.token });
    expect(listed.body.data.map((m: { id: string }) => m.id)).toEqual(['pm_card_visa']);
    expect((await call(h.t, 'GET', '/v1/payments/methods', { token: other.token })).body.data).toEqual([]);
    const stolen = await call(h.t, 'POST', '/v1/payments/methods', { token: other.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(stolen.status).toBe(409);
    expect((await call(h.t, 'DELETE', '/v1/payments/methods/pm_card_visa', { token: other.token })).status).toBe(404);
    const deleted = await call(h.t, 'DELETE', '/v1/payments/methods/pm_card_visa', { token: owner.token });
    expect(deleted.status).toBe(200);
    expect(h.proxy.requests.at(-1)).toMatchObject({ path: '/v1/payment_methods/pm_card_visa/detach', status: 200 });
    expect((await call(h.t, 'GET', '/v1/payments/methods', { token: owner.token })).body.data).toEqual([]);
    expect((await call(h.t, 'DELETE', '/v1/payments/methods/pm_card_visa', { token: owner.token })).status).toBe(404);
  });

  it('validates input: a bad id, extra fields, a missing body', async () => {
    const user = await makeUser(h.t, 'user');
    const bad = await call(h.t, 'POST', '/v1/payments/methods', { token: user.token, body: { payment_method_id: 'card_123' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toHaveProperty('payment_method_id');
    expect((await call(h.t, 'POST', '/v1/payments/methods', { token: user.token, body: { payment_method_id: 'pm_card_visa', x: 1 } })).status).toBe(400);
    expect((await call(h.t, 'POST', '/v1/payments/methods', { token: user.token, body: {} })).status).toBe(400);
    expect((await call(h.t, 'DELETE', '/v1/payments/methods/not-a-pm', { token: user.token })).status).toBe(400);
    expect((await call(h.t, 'GET', '/v1/payments/methods')).status).toBe(401);
  });

  it('a declined attach is 402 stripe_error and nothing is saved', async () => {
    const user = await makeUser(h.t, 'user');
    const rule = h.proxy.inject({ path: /\/attach$/, fault: { kind: 'decline', declineCode: 'expired_card', code: 'expired_card', message: 'Your card has expired.' }, times: 1 });
    const res = await call(h.t, 'POST', '/v1/payments/methods', { token: user.token, body: { payment_method_id: 'pm_card_chargeDeclinedExpiredCard' } });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ code: 'stripe_error', message: 'Your card has expired.', details: { decline_code: 'expired_card' } });
    expect(rule.hits).toBe(1);
    expect((await call(h.t, 'GET', '/v1/payments/methods', { token: user.token })).body.data).toEqual([]);
  });

  it('Stripe down: 503 service_unavailable, never a 500 or a hang', async () => {
    const user = await makeUser(h.t, 'user');
    const rule = h.proxy.inject({ path: '/v1/customers', fault: { kind: 'timeout' } });
    try {
      const res = await call(h.t, 'POST', '/v1/payments/methods/setup-intent', { token: user.token });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('service_unavailable');
    } finally {
      rule.remove();
    }
  });
});

describe('Connect onboarding against stripe-mock', () => {
  let h: PaymentsHarness;
  beforeAll(async () => { h = await startPaymentsHarness(); });
  afterAll(async () => { await h?.stop(); });

  it('creates one Express account per host and an onboarding link; status follows account.updated in order', async () => {
    const host = await makeHost(h.t);
    expect((await call(h.t, 'GET', '/v1/payments/connect/status', { token: host.token })).body.data).toMatchObject({ status: 'not_started', account_id: null });
    const link = await call(h.t, 'POST', '/v1/payments/connect/account-link', { token: host.token });
    expect(link.status).toBe(201);
    expect(link.body.data).toMatchObject({ url: expect.stringMatching(/^https:\/\//), account_id: expect.stringMatching(/^acct_/) });
    const again = await call(h.t, 'POST', '/v1/payments/connect/account-link', { token: host.token });
    expect(again.body.data.account_id).toBe(link.body.data.account_id);
    expect(h.proxy.requests.filter((r) => r.method === 'POST' && r.path === '/v1/accounts')).toHaveLength(1);
    expect(h.proxy.requests.filter((r) => r.path === '/v1/account_links')).toHaveLength(2);
    const accountId: string = link.body.data.account_id;
    const status = await call(h.t, 'GET', '/v1/payments/connect/status', { token: host.token });
    expect(status.body.data).toMatchObject({ status: 'onboarding', account_id: accountId, payouts_enabled: false });

    const now = Math.floor(Date.now() / 1000);
    const account = (fields: Record<string, unknown>) => ({ id: accountId, object: 'account', requirements: { currently_due: [] }, ...fields });
    const newer = stripeEvent('account.updated', account({ charges_enabled: true, payouts_enabled: true, details_submitted: true }), { created: now + 20 });
    const older = stripeEvent('account.updated', account({ charges_enabled: false, payouts_enabled: false, details_submitted: true, requirements: { currently_due: ['external_account'] } }), { created: now + 10 });
    expect((await deliver(h.t, newer)).body.data.outcome).toBe('processed');
    expect((await deliver(h.t, older)).body.data.outcome).toBe('processed');
    expect((await deliver(h.t, newer)).body.data.outcome).toBe('duplicate');
    const active = await call(h.t, 'GET', '/v1/payments/connect/status', { token: host.token });
    expect(active.body.data).toMatchObject({ status: 'active', payouts_enabled: true, charges_enabled: true, requirements_due: [] });

    const restricted = stripeEvent('account.updated', account({ charges_enabled: true, payouts_enabled: false, details_submitted: true, requirements: { currently_due: ['individual.verification.document'] } }), { created: now + 30 });
    await deliver(h.t, restricted);
    expect((await call(h.t, 'GET', '/v1/payments/connect/status', { token: host.token })).body.data)
      .toMatchObject({ status: 'restricted', requirements_due: ['individual.verification.document'] });
  });

  it('is for hosts only', async () => {
    const user = await makeUser(h.t, 'verified_user');
    expect((await call(h.t, 'POST', '/v1/payments/connect/account-link', { token: user.token })).status).toBe(403);
    expect((await call(h.t, 'GET', '/v1/payments/connect/status', { token: user.token })).status).toBe(403);
  });
});

describe('payments without a Stripe key', () => {
  it('refuses paid operations with a clear 503; reading saved state still works', async () => {
    const t = await startTestApi();
    try {
      const user = await makeUser(t, 'user');
      const res = await call(t, 'POST', '/v1/payments/methods/setup-intent', { token: user.token });
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'service_unavailable', details: { payments: 'not_configured' } });
      expect(res.body.error.message).toMatch(/not configured/);
      expect((await call(t, 'GET', '/v1/payments/methods', { token: user.token })).status).toBe(200);
      const host = await makeHost(t);
      expect((await call(t, 'POST', '/v1/payments/connect/account-link', { token: host.token })).status).toBe(503);
      expect((await call(t, 'GET', '/v1/payments/connect/status', { token: host.token })).body.data.status).toBe('not_started');
    } finally {
      await t.stop();
    }
  });
});
