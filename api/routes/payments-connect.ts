import { ok } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import type { ConnectService } from '../services/payments/connect.js';

const envelope = (data: Record<string, unknown>) => ({ type: 'object', required: ['success', 'data'], properties: { success: { const: true }, data } });

const STATUS_SCHEMA = {
  type: 'object', required: ['status', 'account_id', 'charges_enabled', 'payouts_enabled', 'details_submitted', 'requirements_due', 'updated_at'],
  properties: {
    status: { enum: ['not_started', 'onboarding', 'restricted', 'active'] },
    account_id: { type: ['string', 'null'] },
    charges_enabled: { type: 'boolean' }, payouts_enabled: { type: 'boolean' }, details_submitted: { type: 'boolean' },
    requirements_due: { type: 'array', items: { type: 'string' } },
    updated_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

/** Host onboarding to Stripe Connect (Express). */
export function connectRoutes(deps: { connect: ConnectService }): RouteSpec[] {
  return defineRoutes([
    {
      method: 'POST', path: '/v1/payments/connect/account-link', operationId: 'createConnectAccountLink', tags: ['payments'], auth: 'host', idempotency: 'optional',
      summary: 'Start or resume Stripe Connect onboarding: creates the host\'s Express account on first use and returns a one-time onboarding URL.',
      errors: ['stripe_error', 'service_unavailable', 'conflict'],
      responses: {
        201: {
          description: 'Onboarding link.',
          schema: envelope({ type: 'object', required: ['url', 'expires_at', 'account_id'], properties: { url: { type: 'string' }, expires_at: { type: 'string', format: 'date-time' }, account_id: { type: 'string' } } }),
        },
      },
      handler: async (ctx) => {
        const p = ctx.state.principal!;
        ok(ctx, await deps.connect.accountLink(p.userId, p.email), 201);
      },
    },
    {
      method: 'GET', path: '/v1/payments/connect/status', operationId: 'getConnectStatus', tags: ['payments'], auth: 'host',
      summary: 'The host\'s Connect account state (kept current by `account.updated` webhooks).',
      responses: { 200: { description: 'Onboarding state.', schema: envelope(STATUS_SCHEMA) } },
      handler: async (ctx) => { ok(ctx, await deps.connect.status(ctx.state.principal!.userId)); },
    },
  ]);
}
