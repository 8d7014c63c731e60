import { AppError } from '../../shared/errors/index.js';
import { ok } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import type { StripeWebhooks } from '../services/payments/webhooks.js';

const RECEIPT_SCHEMA = {
  type: 'object', required: ['success', 'data'],
  properties: {
    success: { const: true },
    data: {
      type: 'object', required: ['id', 'outcome'],
      properties: { id: { type: 'string' }, outcome: { enum: ['processed', 'ignored', 'duplicate'] } },
    },
  },
} as const;

/**
 * `POST /v1/payments/webhooks/stripe`: Stripe's signed event deliveries. Authenticated by the
 * signature, not a token, and exempt from the per-IP limit (Stripe sends bursts from few
 * addresses); the body is bounded by API_BODY_LIMIT_BYTES and verification is one HMAC.
 */
export function paymentWebhookRoutes(deps: { webhooks: StripeWebhooks }): RouteSpec[] {
  return defineRoutes([
    {
      method: 'POST', path: '/v1/payments/webhooks/stripe', operationId: 'stripeWebhook', tags: ['payments'], auth: 'none', rateLimit: false,
      summary: 'Stripe webhook endpoint (signed with the endpoint secret; deduplicated by event id).',
      rawBody: true, requestContentType: 'application/json', body: { type: 'object', description: 'A Stripe event, verbatim.' },
      errors: ['validation_error', 'conflict', 'service_unavailable'],
      responses: { 200: { description: 'Event accepted (processed now, earlier, or not of interest).', schema: RECEIPT_SCHEMA } },
      handler: async (ctx) => {
        const event = deps.webhooks.verify(ctx.state.rawBody, ctx.get('Stripe-Signature'));
        const outcome = await deps.webhooks.receive(event);
        if (outcome === 'in_progress') {
          throw new AppError('conflict', { message: 'This event is being processed by another delivery; retry later.', details: { event: event.id } });
        }
        ctx.state.log.info({ event: event.id, type: event.type, outcome }, 'stripe event');
        ok(ctx, { id: event.id, outcome });
      },
    },
  ]);
}
