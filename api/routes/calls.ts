import { CALL_STATUSES, type Call } from '../../shared/calls/index.js';
import { validationError } from '../../shared/errors/index.js';
import { ICE_SERVERS_SCHEMA } from '../../shared/ice/turn.js';
import type { AppContext } from '../http/context.js';
import { ok, pageRequest, paginated, PAGINATION_QUERY_PROPERTIES } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import { CALL_VIEW_SCHEMA, callView } from '../services/calls/call-view.js';
import type { CallsService } from '../services/calls/calls-service.js';
import type { SignalingGrant } from '../services/calls/signaling-issuer.js';
import type { Caller } from '../services/links/links-service.js';

const envelope = (data: Record<string, unknown>) => ({ type: 'object', properties: { success: { const: true }, data } });
const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

const JOIN_SCHEMA_EXTRA = { paid_minutes: { type: ['integer', 'null'], description: 'Minutes the hold placed at join covers; null for a free call.' } } as const;

const GRANT_SCHEMA = {
  type: 'object', required: ['call', 'signaling', 'ice_servers'],
  properties: {
    call: CALL_VIEW_SCHEMA,
    signaling: {
      type: 'object', required: ['token', 'url', 'expires_in'],
      properties: { token: { type: 'string' }, url: { type: 'string' }, expires_in: { const: 300 } },
    },
    ice_servers: ICE_SERVERS_SCHEMA,
  },
} as const;

function caller(ctx: AppContext): Caller {
  const p = ctx.state.principal!;
  return { userId: p.userId, role: p.role };
}

function grantView(result: { call: Call } & SignalingGrant, now: Date): Record<string, unknown> {
  return { call: callView(result.call, now), signaling: result.signaling, ice_servers: result.ice_servers };
}

/** `/v1/calls/*` except links; `history` is registered before `/:id`. */
export function callRoutes(deps: { calls: CallsService; now?: () => Date }): RouteSpec[] {
  const { calls } = deps;
  const now = deps.now ?? (() => new Date());
  const id = (ctx: AppContext) => String(ctx.state.params!['id']);
  return defineRoutes([
    {
      method: 'POST', path: '/v1/calls/join/:short_code', operationId: 'joinCall', summary: 'Join a call through a link (guest or user token).', tags: ['calls'], auth: 'guest',
      params: { type: 'object', required: ['short_code'], properties: { short_code: { type: 'string', minLength: 1, maxLength: 64 } } },
      body: {
        type: 'object', additionalProperties: false,
        properties: { payment_method_id: { type: 'string', pattern: '^pm_[A-Za-z0-9_]{1,250}$', description: 'Stripe PaymentMethod id; required for a paid link (a hold of BILLING_HOLD_MINUTES x rate is placed on it).' } },
      },
      idempotency: 'optional',
      errors: ['not_found', 'gone', 'conflict', 'stripe_error', 'service_unavailable'],
      responses: { 201: { description: 'The new call, the guest\'s signaling token and ICE servers.', schema: envelope({ ...GRANT_SCHEMA, properties: { ...GRANT_SCHEMA.properties, ...JOIN_SCHEMA_EXTRA } }) } },
      handler: async (ctx) => {
        const at = now();
        const body = (ctx.state.body ?? {}) as { payment_method_id?: string };
        const result = await calls.join(caller(ctx), String(ctx.state.params!['short_code']), at, body.payment_method_id ? { paymentMethodId: body.payment_method_id } : {});
        ok(ctx, { ...grantView(result, at), paid_minutes: result.paidMinutes }, 201);
      },
    },
    {
      method: 'GET', path: '/v1/calls/history', operationId: 'callHistory', summary: 'Own calls as host or guest, newest first.', tags: ['calls'], auth: 'guest',
      query: {
        type: 'object', additionalProperties: false,
        properties: {
          status: { enum: [...CALL_STATUSES] },
          from: { type: 'string', format: 'date-time', description: 'Calls created at or after.' },
          to: { type: 'string', format: 'date-time', description: 'Calls created before.' },
          ...PAGINATION_QUERY_PROPERTIES,
        },
      },
      responses: { 200: { description: 'One page of calls.', schema: { type: 'object', properties: { success: { const: true }, data: { type: 'array', items: CALL_VIEW_SCHEMA } } } } },
      handler: async (ctx) => {
        const query = ctx.state.query as { status?: Call['status']; from?: string; to?: string; page?: number; per_page?: number };
        const from = query.from ? new Date(query.from) : undefined;
        const to = query.to ? new Date(query.to) : undefined;
        if (from && to && from.getTime() >= to.getTime()) throw validationError({ to: 'must be later than from' });
        const page = pageRequest(query);
        const { items, total } = await calls.history(caller(ctx), { ...(query.status ? { status: query.status } : {}), ...(from ? { from } : {}), ...(to ? { to } : {}) }, page.skip, page.perPage);
        const at = now();
        paginated(ctx, items.map((c) => callView(c, at)), page, total);
      },
    },
    {
      method: 'GET', path: '/v1/calls/:id', operationId: 'getCall', summary: 'Call details (participants and admins).', tags: ['calls'], auth: 'guest',
      params: ID_PARAMS, errors: ['not_found'],
      responses: { 200: { description: 'The call.', schema: envelope(CALL_VIEW_SCHEMA) } },
      handler: async (ctx) => { ok(ctx, callView(await calls.get(caller(ctx), id(ctx)), now())); },
    },
    {
      method: 'POST', path: '/v1/calls/:id/host-join', operationId: 'hostJoinCall', summary: 'The link\'s host takes the call.', tags: ['calls'], auth: 'host',
      params: ID_PARAMS, errors: ['not_found', 'conflict'],
      responses: { 200: { description: 'The call, the host\'s signaling token and ICE servers.', schema: envelope(GRANT_SCHEMA) } },
      handler: async (ctx) => { ok(ctx, grantView(await calls.hostJoin(caller(ctx), id(ctx)), now())); },
    },
    {
      method: 'POST', path: '/v1/calls/:id/token', operationId: 'reissueSignalingToken', summary: 'A fresh signaling token for a participant of a running call.', tags: ['calls'], auth: 'guest',
      params: ID_PARAMS, errors: ['not_found', 'conflict'],
      responses: { 200: { description: 'The call, a signaling token and ICE servers.', schema: envelope(GRANT_SCHEMA) } },
      handler: async (ctx) => { ok(ctx, grantView(await calls.reissue(caller(ctx), id(ctx)), now())); },
    },
    {
      method: 'POST', path: '/v1/calls/:id/end', operationId: 'endCall', summary: 'End the call (reason `hangup`); idempotent.', tags: ['calls'], auth: 'guest',
      params: ID_PARAMS, errors: ['not_found'],
      responses: { 200: { description: 'The call after ending (or as it was, if already over).', schema: envelope(CALL_VIEW_SCHEMA) } },
      handler: async (ctx) => {
        const at = now();
        ok(ctx, callView(await calls.end(caller(ctx), id(ctx), at), at));
      },
    },
  ]);
}
