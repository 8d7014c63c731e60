import type { Call } from './call.js';
import { CALL_CACHE_TTL_MS, decodeCachedCall, encodeCachedCall, type CallCache } from './call-cache.js';

interface Entry {
  version: number;
  doc: string;
  expiresAt: number;
}

/**
 * The call cache in process memory (a signal node without Redis, fed by the API of the same
 * product over IPC): the semantics of `RedisCallCache`. Entries are kept in write order, so
 * expired ones are dropped from the front at each write.
 */
export class MemoryCallCache implements CallCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly ttlMs = CALL_CACHE_TTL_MS, private readonly now: () => number = Date.now) {}

  async get(id: string): Promise<Call | null> {
    const entry = this.#entries.get(id);
    if (!entry || entry.expiresAt <= this.now()) return null;
    return decodeCachedCall(entry.doc);
  }

  async put(call: Call): Promise<void> {
    const t = this.now();
    const cached = this.#entries.get(call.id);
    if (cached && cached.expiresAt > t && cached.version > call.version) return;
    this.#entries.delete(call.id);
    this.#entries.set(call.id, { version: call.version, doc: encodeCachedCall(call), expiresAt: t + this.ttlMs });
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt > t) break;
      this.#entries.delete(id);
    }
  }

  /** Calls cached (expired ones not yet dropped included). */
  get size(): number {
    return this.#entries.size;
  }
}
