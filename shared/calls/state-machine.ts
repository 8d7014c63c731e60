/**
 * The call state machine shared by api and signal.
 *
 *   waiting ──host connects──▶ ringing ──both joined──▶ active ──▶ ended
 *      │                          │
 *      └──────────────────────────┴──▶ missed | declined | failed | ended (guest hung up first)
 *
 * Every transition is one conditional atomic update in the call store (see CallStore).
 */
export const CALL_STATUSES = ['waiting', 'ringing', 'active', 'ended', 'missed', 'declined', 'failed'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export const END_REASONS = ['hangup', 'declined', 'timeout', 'insufficient_funds', 'max_duration', 'host_unavailable', 'failure'] as const;
export type EndReason = (typeof END_REASONS)[number];

export const TERMINAL_STATUSES: readonly CallStatus[] = ['ended', 'missed', 'declined', 'failed'];
export const OPEN_STATUSES: readonly CallStatus[] = ['waiting', 'ringing', 'active'];

/** Allowed `from → to` pairs. */
const ALLOWED: Record<CallStatus, readonly CallStatus[]> = {
  waiting: ['ringing', 'active', 'ended', 'missed', 'declined', 'failed'],
  ringing: ['waiting', 'active', 'ended', 'missed', 'declined', 'failed'],
  active: ['ended'],
  ended: [],
  missed: [],
  declined: [],
  failed: [],
};

/** Which end reasons each terminal status accepts; the first is the default. */
const REASONS_FOR: Partial<Record<CallStatus, readonly EndReason[]>> = {
  ended: ['hangup', 'timeout', 'insufficient_funds', 'max_duration', 'failure', 'host_unavailable'],
  missed: ['timeout', 'host_unavailable'],
  declined: ['declined'],
  failed: ['failure', 'insufficient_funds', 'host_unavailable'],
};

export function isTerminal(status: CallStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: CallStatus, to: CallStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The statuses from which `to` may be reached (the condition of the atomic update). */
export function sourcesOf(to: CallStatus): CallStatus[] {
  return CALL_STATUSES.filter((from) => canTransition(from, to));
}

/** Checks an end reason against the terminal status; returns the reason to record. */
export function reasonFor(to: CallStatus, reason?: EndReason): EndReason | undefined {
  const allowed = REASONS_FOR[to];
  if (!allowed) {
    if (reason) throw new TypeError(`status ${to} takes no end reason`);
    return undefined;
  }
  if (!reason) return allowed[0];
  if (!allowed.includes(reason)) throw new TypeError(`end reason ${reason} is not valid for status ${to}`);
  return reason;
}

/** The timestamp field a transition into `to` sets, if any. */
export function timestampFieldOf(to: CallStatus): 'answered_at' | 'ended_at' | 'ringing_at' | undefined {
  if (to === 'active') return 'answered_at';
  if (to === 'ringing') return 'ringing_at';
  return isTerminal(to) ? 'ended_at' : undefined;
}
