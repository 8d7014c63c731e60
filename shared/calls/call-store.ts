import type { Call } from './call.js';
import type { CallStatus, EndReason } from './state-machine.js';

export interface TransitionResult {
  /** The call after the attempt (unchanged when `changed` is false). */
  call: Call;
  /** True only for the one caller whose update moved the call. */
  changed: boolean;
}

/**
 * Persistence of calls shared by api and signal. `transition` is exactly-once: of any number of
 * concurrent callers asking for the same transition, exactly one sees `changed: true`; asking for
 * the state the call is already in (or is being moved to) is a no-op (`changed: false`). Server
 * timestamps are set by the store. An illegal transition throws AppError `conflict` (details.status);
 * an unknown id throws `not_found`.
 */
export interface CallStore {
  create(call: Call): Promise<Call>;
  get(id: string): Promise<Call | null>;
  transition(id: string, to: CallStatus, options?: { reason?: EndReason; at?: Date }): Promise<TransitionResult>;
  /** Open calls (waiting/ringing) created before `before`, for the ring-timeout sweeper. */
  findStaleRinging(before: Date, limit: number): Promise<Call[]>;
}
