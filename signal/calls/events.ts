import type { Logger } from '../../shared/runtime/logger.js';
import type { CallStatus, EndReason } from '../../shared/calls/index.js';

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
  /** A peer's connection changed as this node saw it (`reconnecting` pauses billing, `connected` resumes). */
  'peer-state': { callId: string; peer: string; state: 'connected' | 'reconnecting'; node: string };
}

type Listener<K extends keyof CallEventMap> = (event: CallEventMap[K]) => void;

/** A typed emitter whose listeners cannot break it: exceptions are logged and the rest still run. */
export class CallEvents {
  readonly #listeners = new Map<keyof CallEventMap, Set<Listener<never>>>();

  constructor(private readonly log?: Logger) {}

  /** Adds a listener; the returned function removes it. */
  on<K extends keyof CallEventMap>(name: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => void set.delete(listener as Listener<never>);
  }

  emit<K extends keyof CallEventMap>(name: K, event: CallEventMap[K]): void {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        (listener as Listener<K>)(event);
      } catch (err) {
        this.log?.error({ err, event: name }, 'call event listener failed');
      }
    }
  }
}
