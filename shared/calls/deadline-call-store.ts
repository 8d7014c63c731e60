import { withStorageDeadline } from '../runtime/mongo/errors.js';
import type { Call } from './call.js';
import type { CallStore, MediaUpOptions, TransitionOptions, TransitionResult } from './call-store.js';
import type { CallStatus } from './state-machine.js';

/**
 * A CallStore whose every operation settles within `deadlineMs`: past it the caller gets a
 * StorageTimeoutError (a storage failure, like any other: retrying a transition with the same
 * `key` is safe), while the abandoned operation may still complete in the background. For the
 * signal tier, whose replies must not wait on a stalled database.
 */
export class DeadlineCallStore implements CallStore {
  constructor(private readonly inner: CallStore, readonly deadlineMs: number) {}

  create(call: Call): Promise<Call> {
    return withStorageDeadline(this.inner.create(call), this.deadlineMs, 'create');
  }

  get(id: string): Promise<Call | null> {
    return withStorageDeadline(this.inner.get(id), this.deadlineMs, 'get');
  }

  transition(id: string, to: CallStatus, options?: TransitionOptions): Promise<TransitionResult> {
    return withStorageDeadline(this.inner.transition(id, to, options), this.deadlineMs, `transition to ${to}`);
  }

  markMediaUp(id: string, options: MediaUpOptions): Promise<TransitionResult> {
    return withStorageDeadline(this.inner.markMediaUp(id, options), this.deadlineMs, 'markMediaUp');
  }

  findStaleRinging(before: Date, limit: number): Promise<Call[]> {
    return withStorageDeadline(this.inner.findStaleRinging(before, limit), this.deadlineMs, 'findStaleRinging');
  }
}
