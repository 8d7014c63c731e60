import type { Role } from '../roles.js';
import type { CallStatus, EndReason } from './state-machine.js';

/** A call as stored (collection `calls`) and as the API returns it. Times are Date objects. */
export interface Call {
  id: string;
  link_id: string;
  short_code: string;
  host_id: string;
  /** User id, or guest session id (`gs_…`). */
  guest_id: string;
  guest_role: Role;
  status: CallStatus;
  end_reason: EndReason | null;
  /** Per-minute price in minor units at the time the call was created. */
  rate: { amount: number; currency: string };
  max_duration_sec: number | null;
  created_at: Date;
  ringing_at: Date | null;
  answered_at: Date | null;
  ended_at: Date | null;
  /**
   * When media came up (the origin of the billing clock), written once while the call is active;
   * null until then (docs/payments.md "When the clock runs").
   */
  media_up_at: Date | null;
  /** Whose `media-state` report set `media_up_at`, or `system` for the no-report fallback. */
  media_up_by: Party | null;
  /** Who ended the call (with `end_reason`: why); null while it is open. */
  ended_by: Party | null;
  updated_at: Date;
  /** Incremented on every transition; lets listeners order events. */
  version: number;
}

/** The participant slots of a 1:1 call; signaling tokens carry one as `peer`. */
export const PEERS = ['host', 'guest'] as const;
export type Peer = (typeof PEERS)[number];

/** Who did something to a call: one of its peers, or the server on its own (a timeout, a sweep, a failure). */
export const PARTIES = ['host', 'guest', 'system'] as const;
export type Party = (typeof PARTIES)[number];

/** The slot `userId` holds in `call`, or null when it is not a participant. */
export function peerOf(call: Pick<Call, 'host_id' | 'guest_id'>, userId: string): Peer | null {
  if (call.host_id === userId) return 'host';
  if (call.guest_id === userId) return 'guest';
  return null;
}
