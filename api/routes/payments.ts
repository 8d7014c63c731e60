import { Readable } from 'node:stream';
import { AppError, validationError } from '../../shared/errors/index.js';
import type { AppContext } from '../http/context.js';
import { ok, pageRequest, paginated, PAGINATION_QUERY_PROPERTIES } from '../http/envelope.js';
import { IDEMPOTENCY_HEADER } from '../http/idempotency.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import type { EarningsService } from '../services/payments/earnings.js';
import { HISTORY_STATUSES, type HistoryFilter, type PaymentHistoryService } from '../services/payments/history.js';
import { payoutView, type PayoutsService } from '../services/payments/payouts.js';
import type { Interval } from '../services/payments/time-buckets.js';

const envelope = (data: Record<string, unknown>) => ({ type: 'object', required: ['success', 'data'], properties: { success: { const: true }, data } });
const list = (items: Record<string, unknown>) => ({ type: 'object', required: ['success', 'data'], properties: { success: { const: true }, data: { type: 'array', items } } });
const CURRENCY = { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217, upper case.' } as const;
const CALL_ID = { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'A call id (ULID).' } as const;
const MINOR = { type: 'integer' } as const;

const HISTORY_QUERY = {
  from: { type: 'string', format: 'date-time', description: 'Events at or after.' },
  to: { type: 'string', format: 'date-time', description: 'Events before.' },
  status: { enum: HISTORY_STATUSES },
  call_id: CALL_ID,
} as const;

const HISTORY_ROW = {
  type: 'object', required: ['id', 'type', 'status', 'amount_minor', 'currency', 'call_id', 'payout_id', 'created_at'],
  properties: {
    id: { type: 'string' }, type: { enum: ['charge', 'earning', 'refund', 'dispute', 'payout'] }, status: { enum: HISTORY_STATUSES },
    amount_minor: MINOR, currency: CURRENCY, call_id: { type: ['string', 'null'] }, payout_id: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const EARNINGS_ROW = {
  type: 'object',
  required: ['currency', 'gross_minor', 'fees_minor', 'net_minor', 'minutes', 'reversed_minor', 'pending_minor', 'available_minor', 'in_transit_minor', 'paid_out_minor'],
  properties: {
    currency: CURRENCY, gross_minor: MINOR, fees_minor: MINOR, net_minor: MINOR, minutes: MINOR, reversed_minor: MINOR,
    pending_minor: MINOR, available_minor: MINOR, in_transit_minor: MINOR, paid_out_minor: MINOR,
  },
} as const;

const PAYOUT = {
  type: 'object', required: ['id', 'amount_minor', 'currency', 'status', 'transfer_id', 'failure_code', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string' }, amount_minor: MINOR, currency: CURRENCY, status: { enum: ['pending', 'paid', 'failed'] },
    transfer_id: { type: ['string', 'null'] }, failure_code: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

function historyFilter(ctx: AppContext): HistoryFilter {
  const q = ctx.state.query as { from?: string; to?: string; status?: string; call_id?: string };
  const from = q.from ? new Date(q.from) : undefined;
  const to = q.to ? new Date(q.to) : undefined;
  if (from && to && from.getTime() >= to.getTime()) throw validationError({ to: 'must be later than from' });
  return { ...(from ? { from } : {}), ...(to ? { to } : {}), ...(q.status ? { status: q.status } : {}), ...(q.call_id ? { callId: q.call_id } : {}) };
}

const userId = (ctx: AppContext) => ctx.state.principal!.userId;

/** Spec 000 payment routes: history (+ CSV), earnings (+ chart), payouts. */
export function paymentRoutes(deps: { history: PaymentHistoryService; earnings: EarningsService; payouts: PayoutsService; users: { findById(id: string): Promise<{ time_zone?: string } | null> }; now?: () => Date }): RouteSpec[] {
  const now = deps.now ?? (() => new Date());
  return defineRoutes([
    {
      method: 'GET', path: '/v1/payments/history', operationId: 'paymentHistory', tags: ['payments'], auth: 'guest',
      summary: 'What the caller paid and, for hosts, earned and was paid out; one row per money event, newest first.',
      query: { type: 'object', additionalProperties: false, properties: { ...HISTORY_QUERY, ...PAGINATION_QUERY_PROPERTIES } },
      responses: { 200: { description: 'One page of history.', schema: list(HISTORY_ROW) } },
      handler: async (ctx) => {
        const page = pageRequest(ctx.state.query as { page?: number; per_page?: number });
        const { items, total } = await deps.history.page(userId(ctx), historyFilter(ctx), page.skip, page.perPage);
        paginated(ctx, items, page, total);
      },
    },
    {
      method: 'GET', path: '/v1/payments/history/export', operationId: 'exportPaymentHistory', tags: ['payments'], auth: 'guest',
      summary: 'The same history as CSV (same filters, all pages, streamed).',
      query: { type: 'object', additionalProperties: false, properties: HISTORY_QUERY },
      responses: { 200: { description: 'RFC 4180 CSV; text cells starting with = + - @ are prefixed with \'.', contentType: 'text/csv' } },
      handler: async (ctx) => {
        const filter = historyFilter(ctx);
        const lines = deps.history.csv(userId(ctx), filter);
        const first = await lines.next();
        ctx.status = 200;
        ctx.type = 'text/csv; charset=utf-8';
        ctx.set('Content-Disposition', `attachment; filename="vidivo-payments-${now().toISOString().slice(0, 10)}.csv"`);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = Readable.from((async function* () {
          if (!first.done) yield first.value;
          yield* lines;
        })());
      },
    },
    {
      method: 'GET', path: '/v1/payments/earnings', operationId: 'earningsSummary', tags: ['payments'], auth: 'host',
      summary: 'Host earnings per currency: gross, fees, net of billed minutes; pending, available, in transit, paid out.',
      responses: { 200: { description: 'One row per currency.', schema: list(EARNINGS_ROW) } },
      handler: async (ctx) => { ok(ctx, await deps.earnings.summary(userId(ctx))); },
    },
    {
      method: 'GET', path: '/v1/payments/earnings/chart', operationId: 'earningsChart', tags: ['payments'], auth: 'host',
      summary: 'Host earnings over time, bucketed by day, week (ISO, Monday) or month in the host\'s time zone; empty buckets are zeros.',
      query: {
        type: 'object', additionalProperties: false, required: ['from', 'to'],
        properties: {
          from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' },
          interval: { enum: ['day', 'week', 'month'], default: 'day' },
          time_zone: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA zone; default the host\'s profile `time_zone`, else UTC.' },
          currency: CURRENCY,
        },
      },
      errors: ['validation_error'],
      responses: {
        200: {
          description: 'One series per currency.',
          schema: envelope({
            type: 'object', required: ['interval', 'time_zone', 'series'],
            properties: {
              interval: { enum: ['day', 'week', 'month'] }, time_zone: { type: 'string' },
              series: { type: 'array', items: { type: 'object', properties: { currency: CURRENCY, buckets: { type: 'array', items: { type: 'object', properties: { start: { type: 'string', format: 'date' }, gross_minor: MINOR, net_minor: MINOR, minutes: MINOR } } } } } },
            },
          }),
        },
      },
      handler: async (ctx) => {
        const q = ctx.state.query as { from: string; to: string; interval?: Interval; time_zone?: string; currency?: string };
        const from = new Date(q.from);
        const to = new Date(q.to);
        if (from.getTime() >= to.getTime()) throw validationError({ to: 'must be later than from' });
        const timeZone = q.time_zone ?? (await deps.users.findById(userId(ctx)))?.time_zone ?? 'UTC';
        const interval = q.interval ?? 'day';
        const series = await deps.earnings.chart(userId(ctx), { from, to, interval, timeZone, ...(q.currency ? { currency: q.currency } : {}) });
        ok(ctx, { interval, time_zone: timeZone, series });
      },
    },
    {
      method: 'POST', path: '/v1/payments/payout', operationId: 'requestPayout', tags: ['payments'], auth: 'host', idempotency: 'required',
      summary: 'Pay out available earnings of one currency to the host\'s Stripe Connect account (all of it unless `amount_minor` is given).',
      body: {
        type: 'object', additionalProperties: false, required: ['currency'],
        properties: { currency: CURRENCY, amount_minor: { type: 'integer', minimum: 1, maximum: 100000000000 } },
      },
      errors: ['validation_error', 'conflict', 'stripe_error', 'service_unavailable'],
      responses: { 201: { description: 'The payout (status `paid` once the Transfer is made).', schema: envelope(PAYOUT) } },
      handler: async (ctx) => {
        const body = ctx.state.body as { currency: string; amount_minor?: number };
        const key = ctx.get(IDEMPOTENCY_HEADER).toLowerCase();
        if (!key) throw new AppError('validation_error', { details: { [IDEMPOTENCY_HEADER]: 'is required' } });
        ok(ctx, payoutView(await deps.payouts.request(userId(ctx), key, body)), 201);
      },
    },
    {
      method: 'GET', path: '/v1/payments/payouts', operationId: 'listPayouts', tags: ['payments'], auth: 'host',
      summary: 'The host\'s payouts with their status, newest first.',
      query: { type: 'object', additionalProperties: false, properties: { status: { enum: ['pending', 'paid', 'failed'] }, ...PAGINATION_QUERY_PROPERTIES } },
      responses: { 200: { description: 'One page of payouts.', schema: list(PAYOUT) } },
      handler: async (ctx) => {
        const q = ctx.state.query as { status?: 'pending' | 'paid' | 'failed'; page?: number; per_page?: number };
        const page = pageRequest(q);
        const { items, total } = await deps.payouts.list(userId(ctx), q.status ? { status: q.status } : {}, page.skip, page.perPage);
        paginated(ctx, items.map(payoutView), page, total);
      },
    },
  ]);
}
