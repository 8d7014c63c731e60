import Stripe from 'stripe';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { startStripeFaultProxy, type StripeFaultProxy } from '../../helpers/stripe-fault-proxy.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';

export const WEBHOOK_SECRET = 'whsec_vidivo_test_secret_0123456789';

export interface PaymentsHarness {
  t: TestApi;
  mock: StripeMock;
  /** The API's STRIPE_API_BASE points here (in front of stripe-mock). */
  proxy: StripeFaultProxy;
  stop(): Promise<void>;
}

/** stripe-mock, a fault proxy in front of it, and the API configured to use them. */
export async function startPaymentsHarness(env: Record<string, string> = {}): Promise<PaymentsHarness> {
  const mock = await startStripeMock();
  const proxy = await startStripeFaultProxy(mock.url);
  const t = await startTestApi({
    env: {
      STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: proxy.url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_TIMEOUT_MS: '2000', STRIPE_MAX_NETWORK_RETRIES: '0', ...env,
    },
  });
  return {
    t, mock, proxy,
    async stop() {
      await t.stop();
      await proxy.close();
      await mock.stop();
    },
  };
}

let eventSeq = 0;

/** A Stripe-shaped event (`evt_…`) around `object`. */
export function stripeEvent(type: string, object: Record<string, unknown>, fields: { id?: string; created?: number } = {}): Record<string, unknown> {
  eventSeq += 1;
  return {
    id: fields.id ?? `evt_test${Date.now().toString(36)}${eventSeq}`,
    object: 'event', api_version: '2025-01-01', type, livemode: false, pending_webhooks: 1,
    created: fields.created ?? Math.floor(Date.now() / 1000),
    request: { id: null, idempotency_key: null },
    data: { object },
  };
}

/** Posts `event` signed with `secret` (Stripe's own test helper) at `timestamp` (seconds). */
export async function deliver(t: TestApi, event: unknown, options: { secret?: string; timestamp?: number; payload?: string; signature?: string } = {}): Promise<{ status: number; body: any }> {
  const payload = options.payload ?? JSON.stringify(event);
  const signature = options.signature ?? Stripe.webhooks.generateTestHeaderString({
    payload, secret: options.secret ?? WEBHOOK_SECRET, ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
  });
  const res = await fetch(`${t.url}/v1/payments/webhooks/stripe`, {
    method: 'POST', headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signature }, body: payload,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
