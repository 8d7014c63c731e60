import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { AppError } from '../../../shared/errors/index.js';
import {
  callStripe, createStripeGateway, paymentsNotConfigured, requireStripe, stripeIdempotencyKey, stripeTransport, type StripeSettings,
} from '../../../api/services/payments/stripe-client.js';
import { startStripeFaultProxy, type StripeFaultProxy } from '../../helpers/stripe-fault-proxy.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';

let mock: StripeMock;
let proxy: StripeFaultProxy;

function settings(overrides: Partial<StripeSettings> = {}): StripeSettings {
  return { secretKey: STRIPE_TEST_KEY, apiBase: proxy.url, webhookToleranceSec: 300, timeoutMs: 5000, maxNetworkRetries: 0, ...overrides };
}

function client(overrides: Partial<StripeSettings> = {}): Stripe {
  return requireStripe(createStripeGateway(settings(overrides)));
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

const holdParams = { amount: 1000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' } as const;

beforeAll(async () => {
  mock = await startStripeMock();
  proxy = await startStripeFaultProxy(mock.url);
});

afterAll(async () => {
  await proxy?.close();
  await mock?.stop();
});

describe('stripe-mock helper', () => {
  it('runs separate instances on distinct loopback ports, and stop is idempotent', async () => {
    const second = await startStripeMock();
    try {
      expect(second.port).not.toBe(mock.port);
      expect(second.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${second.url}/v1/customers`, { headers: { Authorization: `Bearer ${STRIPE_TEST_KEY}` } });
      expect(res.status).toBe(200);
    } finally {
      await second.stop();
      await second.stop();
    }
    await expect(fetch(`${second.url}/v1/customers`)).rejects.toThrow();
  });
});

describe('stripe client', () => {
  it('reports "not configured" without a key, and paid operations refuse with 503', () => {
    const gateway = createStripeGateway({ webhookToleranceSec: 300, timeoutMs: 1000, maxNetworkRetries: 0 });
    expect(gateway.configured).toBe(false);
    expect(() => requireStripe(gateway)).toThrow(AppError);
    const err = paymentsNotConfigured();
    expect(err.code).toBe('service_unavailable');
    expect(err.details).toEqual({ payments: 'not_configured' });
  });

  it('derives host, port and protocol from STRIPE_API_BASE', () => {
    expect(stripeTransport('http://127.0.0.1:12111')).toEqual({ host: '127.0.0.1', port: 12111, protocol: 'http' });
    expect(stripeTransport('https://api.stripe.com')).toEqual({ host: 'api.stripe.com', port: 443, protocol: 'https' });
    expect(stripeTransport(undefined)).toEqual({});
  });

  it('places a manual-capture hold on stripe-mock over HTTP, through the proxy', async () => {
    const before = proxy.requests.length;
    const intent = await callStripe(() => client().paymentIntents.create(holdParams));
    expect(intent.id).toMatch(/^pi_/);
    expect(intent.object).toBe('payment_intent');
    const seen = proxy.requests.slice(before);
    expect(seen).toEqual([expect.objectContaining({ method: 'POST', path: '/v1/payment_intents', status: 200, fault: undefined })]);
  });

  it('derives stable, distinct Stripe idempotency keys and sends them on the wire', async () => {
    const ours = '8f14e45f-ceea-467f-a0e6-3f0e2b6b6a11';
    const key = stripeIdempotencyKey('user_1', ours, 'hold');
    expect(stripeIdempotencyKey('user_1', ours, 'hold')).toBe(key);
    expect(stripeIdempotencyKey('user_2', ours, 'hold')).not.toBe(key);
    expect(stripeIdempotencyKey('user_1', ours, 'capture')).not.toBe(key);
    expect(stripeIdempotencyKey('user_1', 'other', 'hold')).not.toBe(key);
    expect(key.length).toBeLessThanOrEqual(255);
    const before = proxy.requests.length;
    await client().paymentIntents.create(holdParams, { idempotencyKey: key });
    expect(proxy.requests[before]?.idempotencyKey).toBe(key);
  });
});

describe('fault proxy', () => {
  it('injects a card decline shaped like Stripe\'s: 402 stripe_error with the decline code', async () => {
    const rule = proxy.inject({ method: 'POST', path: '/v1/payment_intents', fault: { kind: 'decline', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds.' }, times: 1 });
    const err = await failure(callStripe(() => client().paymentIntents.create(holdParams)));
    expect(err.code).toBe('stripe_error');
    expect(err.status).toBe(402);
    expect(err.message).toBe('Your card has insufficient funds.');
    expect(err.details).toMatchObject({ stripe_code: 'card_declined', decline_code: 'insufficient_funds' });
    expect(rule.hits).toBe(1);
    await expect(callStripe(() => client().paymentIntents.create(holdParams))).resolves.toMatchObject({ object: 'payment_intent' });
  });

  it('matches on the request body: only the large hold is declined', async () => {
    const rule = proxy.inject({ path: '/v1/payment_intents', when: (form) => Number(form.get('amount')) > 5000, fault: { kind: 'decline' } });
    try {
      await expect(callStripe(() => client().paymentIntents.create(holdParams))).resolves.toMatchObject({ object: 'payment_intent' });
      expect((await failure(callStripe(() => client().paymentIntents.create({ ...holdParams, amount: 9000 })))).code).toBe('stripe_error');
      expect(rule.hits).toBe(1);
    } finally {
      rule.remove();
    }
  });

  it('refuses an incremental authorization with card_declined, only on that path', async () => {
    const stripe = client();
    const intent = await stripe.paymentIntents.create(holdParams);
    const rule = proxy.inject({ method: 'POST', path: /^\/v1\/payment_intents\/[^/]+\/increment_authorization$/, fault: { kind: 'increment_refused' } });
    try {
      const err = await failure(callStripe(() => stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 2000 })));
      expect(err.code).toBe('stripe_error');
      expect(err.details).toMatchObject({ stripe_code: 'card_declined' });
      await expect(stripe.paymentIntents.retrieve(intent.id)).resolves.toMatchObject({ id: intent.id });
    } finally {
      rule.remove();
    }
  });

  it('maps injected 5xx to 503 service_unavailable', async () => {
    const rule = proxy.inject({ path: '/v1/payment_intents', fault: { kind: 'status', status: 500 }, times: 1 });
    const err = await failure(callStripe(() => client().paymentIntents.create(holdParams)));
    expect(err.code).toBe('service_unavailable');
    expect(err.status).toBe(503);
    expect(rule.hits).toBe(1);
  });

  it('a 5xx is retried (bounded) with the same idempotency key, and the retry succeeds', async () => {
    const rule = proxy.inject({ path: '/v1/payment_intents', fault: { kind: 'status', status: 503 }, times: 1 });
    const before = proxy.requests.length;
    const key = stripeIdempotencyKey('user_9', 'k-retry', 'hold');
    const intent = await callStripe(() => client({ maxNetworkRetries: 2 }).paymentIntents.create(holdParams, { idempotencyKey: key }));
    expect(intent.object).toBe('payment_intent');
    const seen = proxy.requests.slice(before);
    expect(seen.map((r) => r.status)).toEqual([503, 200]);
    expect(seen.every((r) => r.idempotencyKey === key)).toBe(true);
    expect(rule.hits).toBe(1);
  });

  it('a hanging Stripe fails within the configured timeout as 503, retries included', async () => {
    const rule = proxy.inject({ path: '/v1/payment_intents', fault: { kind: 'timeout' } });
    try {
      const err = await failure(callStripe(() => client({ timeoutMs: 300, maxNetworkRetries: 1 }).paymentIntents.create(holdParams)));
      expect(err.code).toBe('service_unavailable');
      expect(rule.hits).toBe(2);
    } finally {
      rule.remove();
    }
  });

  it('a dropped answer is retried once by stripe-node with the same key; dropped twice it fails as 503', async () => {
    const once = proxy.inject({ path: '/v1/payment_intents', fault: { kind: 'drop_after_forward' }, times: 1 });
    const before = proxy.requests.length;
    const key = stripeIdempotencyKey('user_9', 'k-drop', 'hold');
    await expect(callStripe(() => client().paymentIntents.create(holdParams, { idempotencyKey: key }))).resolves.toMatchObject({ object: 'payment_intent' });
    const seen = proxy.requests.slice(before);
    expect(seen.map((r) => [r.fault, r.idempotencyKey])).toEqual([['drop_after_forward', key], [undefined, key]]);
    expect(once.hits).toBe(1);
    const twice = proxy.inject({ path: '/v1/payment_intents', fault: { kind: 'drop_after_forward' }, times: 2 });
    const err = await failure(callStripe(() => client().paymentIntents.create(holdParams)));
    expect(err.code).toBe('service_unavailable');
    expect(twice.hits).toBe(2);
  });

  it('leaves other methods and paths alone', async () => {
    const rule = proxy.inject({ method: 'POST', path: '/v1/payment_intents', fault: { kind: 'status', status: 500 } });
    try {
      await expect(client().customers.create({ email: 'a@example.com' })).resolves.toMatchObject({ object: 'customer' });
      await expect(client().paymentIntents.list({ limit: 1 })).resolves.toMatchObject({ object: 'list' });
      expect(rule.hits).toBe(0);
    } finally {
      rule.remove();
    }
  });
});
