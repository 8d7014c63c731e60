import type { Call, Party } from './call.js';
import type { CallStatus, EndReason } from './state-machine.js';

export interface TransitionResult {
  /** The call after the attempt (unchanged when `changed` is false). */
  call: Call;
  /** True only for the one caller whose update moved the call. */
  changed: boolean;
}

/** Options of `CallStore.transition`. */
export interface TransitionOptions {
  reason?: EndReason;
  /** Who asks for a transition into a terminal status (stored as `ended_by`); default `system`. */
  by?: Party;
  at?: Date;
  /**
   * Identifies one logical transition across retries. When an attempt fails with a storage error
   * after its update was in fact made (or claimed), a retry with the same key reports
   * `changed: true` instead of mistaking it for a rival's. Use a fresh random key per transition.
   */
  key?: string;
}

/** Options of `CallStore.markMediaUp`. */
export interface MediaUpOptions {
  /** When media came up: the origin of the billing clock. */
  at: Date;
  /** The peer whose report it is, or `system` (no report within the grace). */
  by: Party;
  /** As `TransitionOptions.key`: a retry with the same key reports `changed: true`. */
  key?: string;
}

/**
 * Persistence of calls shared by api and signal. `transition` is exactly-once: of any number of
 * concurrent callers asking for the same transition, exactly one sees `changed: true`; asking for
 * the state the call is already in (or is being moved to) is a no-op (`changed: false`). Server
 * timestamps are set by the store. An illegal transition throws AppError `conflict` (details.status);
 * an unknown id throws `not_found`. Any other error is a storage failure: the transition may or may
 * not have been made, and retrying it (with the same `key`) is safe.
 */
export interface CallStore {
  create(call: Call): Promise<Call>;
  get(id: string): Promise<Call | null>;
  transition(id: string, to: CallStatus, options?: TransitionOptions): Promise<TransitionResult>;
  /**
   * Sets `media_up_at`/`media_up_by` of an active call, once: of any number of callers exactly one
   * sees `changed: true`, every other gets the call with the first value (`changed: false`). A
   * call that is not active throws `conflict` (details.status); an unknown id `not_found`. It is
   * a write of the call like a transition (it takes the next version) but leaves the status alone.
   */
  markMediaUp(id: string, options: MediaUpOptions): Promise<TransitionResult>;
  /** Open calls (waiting/ringing) created before `before`, for the ring-timeout sweeper. */
  findStaleRinging(before: Date, limit: number): Promise<Call[]>;
}
