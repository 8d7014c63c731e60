import { AppError } from '../errors/index.js';
import type { Call } from './call.js';
import type { CallStore, MediaUpOptions, TransitionOptions, TransitionResult } from './call-store.js';
import { canTransition, isTerminal, reasonFor, timestampFieldOf, type CallStatus } from './state-machine.js';

interface Entry {
  call: Call;
  /** The `TransitionOptions.key` of the transition that made the current status. */
  key: string | undefined;
  /** The `MediaUpOptions.key` of the write that set `media_up_at`. */
  mediaKey: string | undefined;
}

function copy(call: Call): Call {
  return {
    ...call, rate: { ...call.rate },
    created_at: new Date(call.created_at), updated_at: new Date(call.updated_at),
    ringing_at: call.ringing_at && new Date(call.ringing_at), answered_at: call.answered_at && new Date(call.answered_at),
    ended_at: call.ended_at && new Date(call.ended_at), media_up_at: call.media_up_at && new Date(call.media_up_at),
  };
}

/**
 * CallStore in process memory, with the semantics of `MongoCallStore` (the same contract suite
 * runs against both): transitions are exactly-once because each is applied synchronously, and a
 * retry with the key of the transition that made the current state reports `changed: true`.
 * For unit tests and single-process tools; nothing is persisted.
 */
export class MemoryCallStore implements CallStore {
  readonly #calls = new Map<string, Entry>();

  async create(call: Call): Promise<Call> {
    if (this.#calls.has(call.id)) throw new AppError('conflict', { message: 'Call already exists.' });
    this.#calls.set(call.id, { call: copy(call), key: undefined, mediaKey: undefined });
    return call;
  }

  async get(id: string): Promise<Call | null> {
    const entry = this.#calls.get(id);
    return entry ? copy(entry.call) : null;
  }

  async transition(id: string, to: CallStatus, options: TransitionOptions = {}): Promise<TransitionResult> {
    const at = options.at ?? new Date();
    const reason = reasonFor(to, options.reason);
    const entry = this.#calls.get(id);
    if (!entry) throw new AppError('not_found', { message: 'Call not found.' });
    const current = entry.call;
    if (current.status === to) {
      const mine = options.key !== undefined && current.version > 0 && entry.key === options.key;
      return { call: copy(current), changed: mine };
    }
    if (!canTransition(current.status, to)) {
      throw new AppError('conflict', { message: `Call is ${current.status}; it cannot become ${to}.`, details: { status: current.status } });
    }
    const field = timestampFieldOf(to);
    const next: Call = {
      ...current, status: to, updated_at: at, version: current.version + 1,
      ...(reason ? { end_reason: reason } : {}), ...(field ? { [field]: at } : {}),
      ...(isTerminal(to) ? { ended_by: options.by ?? 'system' } : {}),
    };
    this.#calls.set(id, { ...entry, call: next, key: options.key });
    return { call: copy(next), changed: true };
  }

  async markMediaUp(id: string, options: MediaUpOptions): Promise<TransitionResult> {
    const entry = this.#calls.get(id);
    if (!entry) throw new AppError('not_found', { message: 'Call not found.' });
    const current = entry.call;
    if (current.media_up_at) return { call: copy(current), changed: options.key !== undefined && entry.mediaKey === options.key };
    if (current.status !== 'active') {
      throw new AppError('conflict', { message: `Call is ${current.status}; media cannot come up.`, details: { status: current.status } });
    }
    const next: Call = { ...current, media_up_at: options.at, media_up_by: options.by, updated_at: new Date(), version: current.version + 1 };
    this.#calls.set(id, { ...entry, call: next, mediaKey: options.key });
    return { call: copy(next), changed: true };
  }

  async findStaleRinging(before: Date, limit: number): Promise<Call[]> {
    return [...this.#calls.values()]
      .map((e) => e.call)
      .filter((c) => (c.status === 'waiting' || c.status === 'ringing') && c.created_at < before)
      .sort((a, b) => a.created_at.getTime() - b.created_at.getTime())
      .slice(0, limit)
      .map(copy);
  }
}
