import type { Call } from '../../../shared/calls/index.js';
import { CALL_STATUSES, END_REASONS } from '../../../shared/calls/index.js';

/** A call as participants see it; `duration_sec` counts from answer to end (or now for a running call). */
export function callView(call: Call, now: Date): Record<string, unknown> {
  const until = call.ended_at ?? (call.status === 'active' ? now : null);
  return {
    id: call.id,
    status: call.status,
    end_reason: call.end_reason,
    link_id: call.link_id,
    short_code: call.short_code,
    host_id: call.host_id,
    guest_id: call.guest_id,
    guest_role: call.guest_role,
    rate: call.rate,
    max_duration_sec: call.max_duration_sec,
    created_at: call.created_at.toISOString(),
    ringing_at: call.ringing_at?.toISOString() ?? null,
    answered_at: call.answered_at?.toISOString() ?? null,
    ended_at: call.ended_at?.toISOString() ?? null,
    duration_sec: call.answered_at && until ? Math.max(0, Math.floor((until.getTime() - call.answered_at.getTime()) / 1000)) : 0,
  };
}

const DATE = { type: ['string', 'null'], format: 'date-time' } as const;

/** JSON Schema of callView's output. */
export const CALL_VIEW_SCHEMA = {
  type: 'object',
  required: ['id', 'status', 'end_reason', 'host_id', 'guest_id', 'rate', 'created_at', 'duration_sec'],
  properties: {
    id: { type: 'string' }, status: { enum: [...CALL_STATUSES] }, end_reason: { enum: [...END_REASONS, null] },
    link_id: { type: 'string' }, short_code: { type: 'string' }, host_id: { type: 'string' }, guest_id: { type: 'string' },
    guest_role: { type: 'string' }, rate: { type: 'object', properties: { amount: { type: 'integer' }, currency: { type: 'string' } } },
    max_duration_sec: { type: ['integer', 'null'] }, created_at: { type: 'string', format: 'date-time' },
    ringing_at: DATE, answered_at: DATE, ended_at: DATE, duration_sec: { type: 'integer' },
  },
} as const;
