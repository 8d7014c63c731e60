import type { AppContext } from '../http/context.js';
import { ok } from '../http/envelope.js';
import { IDEMPOTENCY_HEADER } from '../http/idempotency.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import type { PaymentMethodsService } from '../services/payments/methods.js';

const envelope = (data: Record<string, unknown>) => ({ type: 'object', required: ['success', 'data'], properties: { success: { const: true }, data } });
const PM_ID = { type: 'string', pattern: '^pm_[A-Za-z0-9_]{1,200}$', description: 'A Stripe PaymentMethod id (from Stripe.js; `pm_card_visa` in test mode).' } as const;

export const PAYMENT_METHOD_SCHEMA = {
  type: 'object', required: ['id', 'brand', 'last4', 'exp_month', 'exp_year', 'created_at'],
  properties: {
    id: { type: 'string' }, brand: { type: ['string', 'null'] }, last4: { type: ['string', 'null'] },
    exp_month: { type: ['integer', 'null'] }, exp_year: { type: ['integer', 'null'] }, created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const SETUP_INTENT_SCHEMA = {
  type: 'object', required: ['id', 'client_secret', 'status', 'customer_id'],
  properties: { id: { type: 'string' }, client_secret: { type: 'string' }, status: { type: 'string' }, customer_id: { type: 'string' } },
} as const;

const userId = (ctx: AppContext) => ctx.state.principal!.userId;

/** Saved payment methods of the caller (registered user or guest session). */
export function paymentMethodRoutes(deps: { methods: PaymentMethodsService }): RouteSpec[] {
  const { methods } = deps;
  return defineRoutes([
    {
      method: 'POST', path: '/v1/payments/methods/setup-intent', operationId: 'createSetupIntent', tags: ['payments'], auth: 'guest', idempotency: 'optional',
      summary: 'A Stripe SetupIntent to save a card with Stripe.js (confirm it client-side, then attach the resulting PaymentMethod).',
      errors: ['stripe_error', 'service_unavailable', 'conflict'],
      responses: { 201: { description: 'The SetupIntent; `client_secret` goes to Stripe.js.', schema: envelope(SETUP_INTENT_SCHEMA) } },
      handler: async (ctx) => {
        const key = ctx.get(IDEMPOTENCY_HEADER) || undefined;
        ok(ctx, await methods.createSetupIntent(userId(ctx), key), 201);
      },
    },
    {
      method: 'POST', path: '/v1/payments/methods', operationId: 'attachPaymentMethod', tags: ['payments'], auth: 'guest', idempotency: 'optional',
      summary: 'Save a card: attach a PaymentMethod to the caller\'s Stripe customer.',
      body: { type: 'object', additionalProperties: false, required: ['payment_method_id'], properties: { payment_method_id: PM_ID } },
      errors: ['stripe_error', 'service_unavailable', 'conflict'],
      responses: { 201: { description: 'The saved card.', schema: envelope(PAYMENT_METHOD_SCHEMA) } },
      handler: async (ctx) => {
        const body = ctx.state.body as { payment_method_id: string };
        ok(ctx, await methods.attach(userId(ctx), body.payment_method_id), 201);
      },
    },
    {
      method: 'GET', path: '/v1/payments/methods', operationId: 'listPaymentMethods', tags: ['payments'], auth: 'guest',
      summary: 'The caller\'s saved cards, newest first (at most 20).',
      responses: { 200: { description: 'Saved cards.', schema: { type: 'object', properties: { success: { const: true }, data: { type: 'array', items: PAYMENT_METHOD_SCHEMA } } } } },
      handler: async (ctx) => { ok(ctx, await methods.list(userId(ctx))); },
    },
    {
      method: 'DELETE', path: '/v1/payments/methods/:id', operationId: 'deletePaymentMethod', tags: ['payments'], auth: 'guest', idempotency: 'optional',
      summary: 'Forget a saved card (detached from the Stripe customer).',
      params: { type: 'object', required: ['id'], properties: { id: PM_ID } },
      errors: ['not_found', 'stripe_error', 'service_unavailable'],
      responses: { 200: { description: 'Deleted.', schema: envelope({ type: 'object', properties: { deleted: { const: true } } }) } },
      handler: async (ctx) => {
        await methods.remove(userId(ctx), String(ctx.state.params!['id']));
        ok(ctx, { deleted: true });
      },
    },
  ]);
}
