import type { PresenceStore } from './presence-store.js';

/** PresenceStore in process memory, expiring marks on read as Redis expires keys. */
export class MemoryPresenceStore implements PresenceStore {
  readonly #marks = new Map<string, { node: string; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async mark(users: readonly string[], node: string, ttlMs: number): Promise<void> {
    const expiresAt = this.now() + ttlMs;
    for (const user of users) this.#marks.set(user, { node, expiresAt });
  }

  async release(user: string, node: string): Promise<void> {
    if (this.#marks.get(user)?.node === node) this.#marks.delete(user);
  }

  async isOnline(user: string): Promise<boolean> {
    const mark = this.#marks.get(user);
    if (!mark) return false;
    if (mark.expiresAt > this.now()) return true;
    this.#marks.delete(user);
    return false;
  }
}
