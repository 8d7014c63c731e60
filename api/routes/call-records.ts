import { Readable } from 'node:stream';
import { hasRole } from '../../shared/roles.js';
import { AppError, validationError } from '../../shared/errors/index.js';
import type { AppContext } from '../http/context.js';
import { ok } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import type { CallsService } from '../services/calls/calls-service.js';
import type { CallRecordsService } from '../services/payments/call-records.js';
import type { UsageExportService } from '../services/payments/usage-export.js';

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const MAX_RANGE_MS = 366 * 86_400_000;

/** Signed call records (`GET /v1/calls/:id/record`) and the per-call usage CSV (docs/payments.md). */
export function callRecordRoutes(deps: { calls: CallsService; records: CallRecordsService; usage: UsageExportService; now?: () => Date }): RouteSpec[] {
  const now = deps.now ?? (() => new Date());
  const principal = (ctx: AppContext) => ctx.state.principal!;
  return defineRoutes([
    {
      method: 'GET', path: '/v1/calls/:id/record', operationId: 'getCallRecord', tags: ['calls', 'payments'], auth: 'guest',
      summary: 'The signed record of a finished call (participants and admins): times, end reason, billed minutes, amounts, and the same as a compact JWS (RS256, verify with /.well-known/jwks.json).',
      params: ID_PARAMS, errors: ['not_found', 'conflict'],
      responses: {
        200: {
          description: 'The record and its JWS; the JWS payload is the record\'s JSON.',
          schema: { type: 'object', required: ['success', 'data'], properties: { success: { const: true }, data: { type: 'object', required: ['record', 'jws'], properties: { record: { type: 'object' }, jws: { type: 'string' } } } } },
        },
      },
      handler: async (ctx) => {
        const { userId, role } = principal(ctx);
        const call = await deps.calls.get({ userId, role }, (ctx.state.params as { id: string }).id);
        ctx.set('Cache-Control', 'private, no-store');
        ok(ctx, await deps.records.recordOf(call));
      },
    },
    {
      method: 'GET', path: '/v1/payments/usage/export', operationId: 'exportUsage', tags: ['payments'], auth: 'host',
      summary: 'Per-call usage as CSV (streamed): active and participant seconds, billed and reconnecting minutes, amounts. Hosts get their own calls; admins every host\'s, or one with `host_id`.',
      query: {
        type: 'object', additionalProperties: false, required: ['from', 'to'],
        properties: {
          from: { type: 'string', format: 'date-time', description: 'Calls created at or after.' },
          to: { type: 'string', format: 'date-time', description: 'Calls created before; at most 366 days after `from`.' },
          host_id: { type: 'string', minLength: 1, maxLength: 64, description: 'Admins only: one host\'s calls.' },
        },
      },
      errors: ['validation_error', 'forbidden'],
      responses: { 200: { description: 'RFC 4180 CSV; text cells starting with = + - @ are prefixed with \'.', contentType: 'text/csv' } },
      handler: async (ctx) => {
        const q = ctx.state.query as { from: string; to: string; host_id?: string };
        const from = new Date(q.from);
        const to = new Date(q.to);
        if (from.getTime() >= to.getTime()) throw validationError({ to: 'must be later than from' });
        if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw validationError({ to: 'must be at most 366 days after from' });
        const { userId, role } = principal(ctx);
        const admin = hasRole(role, 'admin');
        if (q.host_id && !admin) throw new AppError('forbidden', { message: 'Only admins may export another host\'s usage.' });
        const hostId = admin ? q.host_id : userId;
        const lines = deps.usage.csv({ from, to, ...(hostId ? { hostId } : {}) });
        const first = await lines.next();
        ctx.status = 200;
        ctx.type = 'text/csv; charset=utf-8';
        ctx.set('Content-Disposition', `attachment; filename="vidivo-usage-${now().toISOString().slice(0, 10)}.csv"`);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = Readable.from((async function* () {
          if (!first.done) yield first.value;
          yield* lines;
        })());
      },
    },
  ]);
}
