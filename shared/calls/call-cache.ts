import type { Call } from './call.js';
import type { CallStore, MediaUpOptions, TransitionOptions, TransitionResult } from './call-store.js';
import type { CallStatus } from './state-machine.js';

/**
 * How long a cached call lives after its last write (creation, transition, read from the store).
 * Every writer of a call writes the cache before it announces, so the cache is as fresh as the
 * store; this bounds how long a write that failed (Redis unreachable from that writer only) can
 * leave a stale state to serve a `join`. A join after it reads the store (and caches it again).
 */
export const CALL_CACHE_TTL_MS = 120_000;

/** Where a call's latest state is written for the signal tier's joins (Redis, IPC, process memory). */
export interface CallCacheWriter {
  /** Caches `call` unless a newer version of it is cached already. */
  put(call: Call): Promise<void>;
}

/** The call cache a signal node reads at `join` instead of the database. */
export interface CallCache extends CallCacheWriter {
  /** The cached call, null when none is cached. Rejects when the cache cannot be read. */
  get(id: string): Promise<Call | null>;
}

/** Where a `join` finds the call: the cache when it has it, else the store. */
export interface CallLookup {
  lookup(id: string): Promise<{ call: Call | null; source: 'cache' | 'store' }>;
}

/** A cache read or write that failed (logged by the caller; the store stays authoritative). */
export type CallCacheFailure = (err: unknown, operation: 'get' | 'put', callId: string) => void;

/** JSON of a call for a cache; `decodeCachedCall` revives its dates. */
export function encodeCachedCall(call: Call): string {
  return JSON.stringify(call);
}

/** The call of `encodeCachedCall`: every `*_at` string field becomes a Date again. */
export function decodeCachedCall(text: string): Call {
  return JSON.parse(text, (key, value: unknown) => (typeof value === 'string' && key.endsWith('_at') ? new Date(value) : value)) as Call;
}

/** Options of `CachedCallStore`. */
export interface CachedCallStoreOptions {
  /**
   * A cache read slower than this counts as a miss (the store answers), and a write slower than
   * this is left to finish in the background: a stalled Redis must not hold a join or a transition.
   */
  timeoutMs?: number;
  onFailure?: CallCacheFailure;
}

/** How often writes the cache refused are tried again. */
export const CALL_CACHE_RETRY_MS = 1000;

/** Writes kept for retry at most (the oldest go first): past it, only the lifetime bounds a stale entry. */
const MAX_UNWRITTEN = 10_000;

/** What `#bounded` answers for work that took too long. */
const SLOW = Symbol('slow');

/** Default `timeoutMs`. */
export const CALL_CACHE_TIMEOUT_MS = 250;

/**
 * A CallStore that writes every call it creates, moves or reads through to a cache, before it
 * returns (so a caller that announces a transition afterwards announces a state already cached),
 * and serves `lookup` from that cache. The store stays the authority: transitions are its atomic
 * ones, `get` always reads it, and a cache that fails only costs speed (writes are best effort,
 * a failed or slow read falls back to the store).
 */
export class CachedCallStore implements CallStore, CallLookup {
  readonly #timeoutMs: number;
  /** The latest state of each call whose cache write failed, written again every CALL_CACHE_RETRY_MS. */
  readonly #unwritten = new Map<string, Call>();
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(private readonly inner: CallStore, private readonly cache: CallCacheWriter & Partial<Pick<CallCache, 'get'>>, private readonly options: CachedCallStoreOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? CALL_CACHE_TIMEOUT_MS;
  }

  async create(call: Call): Promise<Call> {
    const created = await this.inner.create(call);
    await this.#put(created);
    return created;
  }

  /** Reads the store (never the cache) and refreshes the cache with what it read. */
  async get(id: string): Promise<Call | null> {
    const call = await this.inner.get(id);
    if (call) void this.#put(call);
    return call;
  }

  async transition(id: string, to: CallStatus, options?: TransitionOptions): Promise<TransitionResult> {
    const result = await this.inner.transition(id, to, options);
    await this.#put(result.call);
    return result;
  }

  async markMediaUp(id: string, options: MediaUpOptions): Promise<TransitionResult> {
    const result = await this.inner.markMediaUp(id, options);
    await this.#put(result.call);
    return result;
  }

  findStaleRinging(before: Date, limit: number): Promise<Call[]> {
    return this.inner.findStaleRinging(before, limit);
  }

  /**
   * The call as cached, else as stored (and then cached). `source` says which answered. The
   * cached state may lag the store only where a write to the cache failed (see CALL_CACHE_TTL_MS).
   * A cache slower than the timeout does not hold the answer back: the store is asked too, and
   * the first to answer with the call wins (a busy process may see its timer fire before it
   * reads a reply already there, so the cache's answer is not thrown away).
   */
  async lookup(id: string): Promise<{ call: Call | null; source: 'cache' | 'store' }> {
    if (!this.cache.get) return { call: await this.get(id), source: 'store' };
    const cached = this.cache.get(id).catch((err: unknown) => {
      this.options.onFailure?.(err, 'get', id);
      return null;
    });
    const first = await this.#bounded(cached, SLOW);
    if (first === SLOW) return this.#eitherOf(cached, id);
    if (first) return { call: first, source: 'cache' };
    return { call: await this.get(id), source: 'store' };
  }

  /** The cache's answer if it is a call and comes first, else the store's. */
  async #eitherOf(cached: Promise<Call | null>, id: string): Promise<{ call: Call | null; source: 'cache' | 'store' }> {
    const stored = this.get(id).then((call) => ({ call, source: 'store' as const }));
    const hit = cached.then((call) => (call ? { call, source: 'cache' as const } : Promise.reject(new Error('not cached'))));
    try {
      return await Promise.any([hit, stored]);
    } catch {
      return stored;
    }
  }

  /** Calls whose latest state the cache has not taken yet (it is being retried). */
  get unwritten(): number {
    return this.#unwritten.size;
  }

  /** Stops retrying failed writes. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  async #put(call: Call): Promise<void> {
    const written = this.cache.put(call).then(() => this.#written(call), (err: unknown) => {
      this.options.onFailure?.(err, 'put', call.id);
      this.#keepForRetry(call);
    });
    await this.#bounded(written, undefined);
  }

  #written(call: Call): void {
    if (this.#unwritten.get(call.id)?.version === call.version) this.#unwritten.delete(call.id);
  }

  /**
   * A failed write is tried again until the cache takes it (or a newer state replaces it): an
   * end whose write was lost to a Redis outage must not let joins in once Redis is back.
   */
  #keepForRetry(call: Call): void {
    const kept = this.#unwritten.get(call.id);
    if (kept && kept.version > call.version) return;
    this.#unwritten.delete(call.id);
    this.#unwritten.set(call.id, call);
    if (this.#unwritten.size > MAX_UNWRITTEN) this.#unwritten.delete(this.#unwritten.keys().next().value!);
    if (!this.#closed) this.#retry ??= setTimeout(() => void this.#retryWrites(), CALL_CACHE_RETRY_MS).unref();
  }

  async #retryWrites(): Promise<void> {
    const calls = [...this.#unwritten.values()];
    for (const call of calls) {
      try {
        await this.cache.put(call);
        this.#written(call);
      } catch {
        break;
      }
    }
    this.#retry = this.#unwritten.size > 0 && !this.#closed ? setTimeout(() => void this.#retryWrites(), CALL_CACHE_RETRY_MS).unref() : undefined;
  }

  /** `work`, or `otherwise` once it has taken longer than the timeout. */
  async #bounded<T, U>(work: Promise<T>, otherwise: U): Promise<T | U> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<U>((resolve) => { timer = setTimeout(() => resolve(otherwise), this.#timeoutMs); });
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
