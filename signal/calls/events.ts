import { TypedEmitter } from '../typed-emitter.js';
import type { CallStatus, EndReason, Party } from '../../shared/calls/index.js';

/** Internal events of the signal tier, for in-process consumers such as billing. */
export interface CallEventMap {
  /** A transition this node made (emitted exactly once cluster-wide: only by the node whose atomic update won). */
  'call-state': { callId: string; from: CallStatus | null; to: CallStatus; reason: EndReason | null; version: number; at: Date; node: string };
  /**
   * Whole period `minute` (1, 2, …) of an active call has elapsed; emitted on exactly one node.
   * `late`: the emitting node held no participant at `at`; it claimed the minute when one joined
   * it later, because no node had (both had dropped, or their node died or drained across `at`).
   */
  tick: { callId: string; minute: number; at: Date; node: string; hostId: string; guestId: string; reconnecting: string[]; late: boolean };
  /**
   * The call's media-up time was written (exactly once cluster-wide: by the node whose write won):
   * its billing minutes count from `at`. `by`: the peer whose `connected` report it was, or
   * `system` when none came within the grace (`at` is then the call's `active` time).
   */
  'media-up': { callId: string; at: Date; by: Party; node: string };
  /** A peer's connection changed as this node saw it (`reconnecting` pauses billing, `connected` resumes). */
  'peer-state': { callId: string; peer: string; state: 'connected' | 'reconnecting'; node: string };
}

/** A typed emitter whose listeners cannot break it: exceptions are logged and the rest still run. */
export class CallEvents extends TypedEmitter<CallEventMap> {}
