import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import pino from 'pino';
import { AppError } from '../../../shared/errors/index.js';
import { StripeEventsRepository } from '../../../api/repositories/stripe-events.js';
import { StripeWebhooks } from '../../../api/services/payments/webhooks.js';
import { startTestApi } from '../../helpers/api.js';
import { until } from '../../helpers/poll.js';
import { freshDb } from '../../helpers/services.js';
import { deliver, startPaymentsHarness, stripeEvent, WEBHOOK_SECRET, type PaymentsHarness } from './harness.js';

describe('POST /v1/payments/webhooks/stripe over HTTP', () => {
  let h: PaymentsHarness;
  beforeAll(async () => { h = await startPaymentsHarness(); });
  afterAll(async () => { await h?.stop(); });

  it('accepts a correctly signed event once; a replay of the same id is a duplicate', async () => {
    const event = stripeEvent('customer.created', { id: 'cus_webhook1', object: 'customer' });
    const first = await deliver(h.t, event);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ success: true, data: { id: event.id, outcome: 'ignored' } });
    const again = await deliver(h.t, event);
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual({ id: event.id, outcome: 'duplicate' });
    const stored = await new StripeEventsRepository(h.t.db).findById(event.id as string);
    expect(stored).toMatchObject({ type: 'customer.created', object_id: 'cus_webhook1', status: 'ignored', deliveries: 2 });
  });

  it('refuses bad signatures with 400 and records nothing', async () => {
    const event = stripeEvent('customer.created', { id: 'cus_x', object: 'customer' });
    const payload = JSON.stringify(event);
    const cases = [
      await deliver(h.t, event, { secret: 'whsec_some_other_secret' }),
      await deliver(h.t, event, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      await deliver(h.t, event, { signature: 't=1,v1=deadbeef' }),
      await deliver(h.t, event, { signature: 'garbage' }),
      await deliver(h.t, event, { payload: payload.replace('cus_x', 'cus_y'), signature: (await import('stripe')).default.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }) }),
    ];
    for (const res of cases) {
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.details).toHaveProperty('stripe-signature');
    }
    expect(await new StripeEventsRepository(h.t.db).findById(event.id as string)).toBeNull();
  });

  it('accepts a signature inside the 300 s tolerance', async () => {
    const event = stripeEvent('customer.created', { id: 'cus_recent', object: 'customer' });
    expect((await deliver(h.t, event, { timestamp: Math.floor(Date.now() / 1000) - 240 })).status).toBe(200);
  });

  it('refuses a missing signature header, a non-JSON body, an oversized body and a signed non-event', async () => {
    const noHeader = await fetch(`${h.t.url}/v1/payments/webhooks/stripe`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"id":"evt_1"}' });
    expect(noHeader.status).toBe(400);
    expect(((await noHeader.json()) as any).error.details).toEqual({ 'stripe-signature': 'required' });
    const text = await fetch(`${h.t.url}/v1/payments/webhooks/stripe`, { method: 'POST', headers: { 'Content-Type': 'text/plain', 'Stripe-Signature': 't=1,v1=x' }, body: 'hello' });
    expect(text.status).toBe(415);
    const big = 'x'.repeat(h.t.config.api.bodyLimitBytes + 10);
    expect((await deliver(h.t, null, { payload: JSON.stringify({ id: 'evt_big', pad: big }) })).status).toBe(413);
    const notEvent = await deliver(h.t, null, { payload: JSON.stringify({ id: 'evt_bad', type: 'x' }) });
    expect(notEvent.status).toBe(400);
    expect(notEvent.body.error.details).toEqual({ body: 'must be a Stripe event' });
    const notJson = await deliver(h.t, null, { payload: '{not json' });
    expect(notJson.status).toBe(400);
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${h.t.url}/openapi.json`)).json()) as any;
    expect(doc.paths['/v1/payments/webhooks/stripe'].post.operationId).toBe('stripeWebhook');
  });
});

describe('webhook endpoint without a secret', () => {
  it('answers 503 service_unavailable', async () => {
    const t = await startTestApi();
    try {
      const res = await deliver(t, stripeEvent('customer.created', { id: 'cus_z', object: 'customer' }));
      expect(res.status).toBe(503);
      expect(res.body.error.details).toEqual({ payments: 'webhooks_not_configured' });
    } finally {
      await t.stop();
    }
  });
});

describe('StripeWebhooks dispatch on real storage', () => {
  let db: Awaited<ReturnType<typeof freshDb>>;
  let events: StripeEventsRepository;
  const log = pino({ level: 'silent' });
  beforeAll(async () => {
    db = await freshDb('webhooks');
    events = new StripeEventsRepository(db.db);
    await events.ensureIndexes();
  });
  afterAll(async () => { await db?.drop(); });

  const asEvent = (e: Record<string, unknown>) => e as unknown as Stripe.Event;

  it('routes by exact type and by family, in registration order, once per event id', async () => {
    const webhooks = new StripeWebhooks({ secret: WEBHOOK_SECRET, toleranceSec: 300, events, log });
    const seen: string[] = [];
    webhooks.register({ types: ['transfer.*'], handle: async (e) => { seen.push(`family:${e.type}`); } });
    webhooks.register({ types: ['transfer.reversed', 'payout.paid'], handle: async (e) => { seen.push(`exact:${e.type}`); } });
    const reversed = asEvent(stripeEvent('transfer.reversed', { id: 'tr_1', object: 'transfer' }));
    expect(await webhooks.receive(reversed)).toBe('processed');
    expect(await webhooks.receive(reversed)).toBe('duplicate');
    expect(await webhooks.receive(asEvent(stripeEvent('payout.paid', { id: 'po_1', object: 'payout' })))).toBe('processed');
    expect(await webhooks.receive(asEvent(stripeEvent('transferx.created', { id: 'x_1', object: 'x' })))).toBe('ignored');
    expect(seen).toEqual(['family:transfer.reversed', 'exact:transfer.reversed', 'exact:payout.paid']);
  });

  it('a failing handler releases the event (503) and the next delivery processes it', async () => {
    const webhooks = new StripeWebhooks({ secret: WEBHOOK_SECRET, toleranceSec: 300, events, log });
    let failures = 1;
    let handled = 0;
    webhooks.register({ types: ['charge.refunded'], handle: async () => { if (failures-- > 0) throw new Error('db down'); handled += 1; } });
    const event = asEvent(stripeEvent('charge.refunded', { id: 'ch_1', object: 'charge' }));
    const err = await webhooks.receive(event).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('service_unavailable');
    expect(await events.findById(event.id)).toBeNull();
    expect(await webhooks.receive(event)).toBe('processed');
    expect(handled).toBe(1);
  });

  it('concurrent deliveries of one event run the handler once; a dead holder\'s claim is taken over after its lease', async () => {
    let clock = new Date('2026-01-01T00:00:00Z');
    const webhooks = new StripeWebhooks({ secret: WEBHOOK_SECRET, toleranceSec: 300, events, log, leaseMs: 60_000, now: () => clock });
    let handled = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    webhooks.register({ types: ['payout.failed'], handle: async () => { handled += 1; await gate; } });
    const event = asEvent(stripeEvent('payout.failed', { id: 'po_2', object: 'payout' }));
    const first = webhooks.receive(event);
    await until(() => handled === 1, 10000, 'the first delivery to run its handler');
    const outcomes = await Promise.all([webhooks.receive(event), webhooks.receive(event)]);
    expect(outcomes).toEqual(['in_progress', 'in_progress']);
    release();
    expect(await first).toBe('processed');
    expect(handled).toBe(1);

    const orphan = asEvent(stripeEvent('payout.failed', { id: 'po_3', object: 'payout' }));
    await events.claim({ id: orphan.id, type: orphan.type, created: orphan.created, object_id: 'po_3', livemode: false }, clock, 60_000);
    expect(await webhooks.receive(orphan)).toBe('in_progress');
    clock = new Date(clock.getTime() + 61_000);
    expect(await webhooks.receive(orphan)).toBe('processed');
    expect(handled).toBe(2);
  });
});
