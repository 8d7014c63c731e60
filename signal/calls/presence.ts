import type { Redis } from 'ioredis';
import { MemoryPresenceStore, RedisPresenceStore, type PresenceStore } from '../../shared/presence/index.js';
import type { Logger } from '../../shared/runtime/logger.js';

/**
 * Keys written per Redis command by a refresh. A script holds Redis for its whole run, and every
 * node's cross-node PUBLISH waits behind it: 1,000 keys took 2.1 ms on an idle Redis here, 250
 * take about 0.5 ms, as long as a replay write-behind of 50 participants.
 */
const PRESENCE_BATCH = 250;
/** Refreshes per TTL: two may fail before a mark lapses. */
export const PRESENCE_REFRESHES_PER_TTL = 3;
/** Refreshes never run more often than this (ms), however short the TTL. */
export const PRESENCE_MIN_REFRESH_MS = 100;

/** A socket kind counted by presence: signaling sockets, or chat sockets. */
export type PresenceKind = 'signal' | 'chat';

/**
 * This node's side of presence: counts the sockets per user here (signaling and chat apart), and
 * keeps each user with one of either kind marked online in the `PresenceStore` (key format in
 * `shared/presence`), refreshed every `refreshMs` (a third of the TTL: two refreshes may fail
 * before a mark lapses). Without Redis the store is in memory (one node). Store errors are
 * logged, never thrown. `onChange` hears a user come online on this node (first socket) and,
 * after the release, go offline here (last socket closed).
 */
export class Presence {
  readonly #counts = new Map<string, number>();
  readonly #chat = new Map<string, number>();
  #refreshing = false;

  readonly #store: PresenceStore;
  /** Set once by the node (the chat route is built after presence). */
  onChange: ((userId: string, online: boolean) => void) | undefined;

  /** `store` defaults to a `RedisPresenceStore` on `redis` when one is given, else to a `MemoryPresenceStore`. */
  constructor(private readonly options: { redis?: Redis; store?: PresenceStore; prefix: string; nodeId: string; ttlMs: number; log: Logger }) {
    this.#store = options.store ?? (options.redis ? new RedisPresenceStore(options.redis, options.prefix) : new MemoryPresenceStore());
  }

  /** Signaling sockets this node holds for `userId` (the signaling per-user socket cap counts these). */
  count(userId: string): number {
    return this.#counts.get(userId) ?? 0;
  }

  /** True while this node holds a socket of either kind of `userId` (what an in-process API asks: the same rule as the store's). */
  holds(userId: string): boolean {
    return this.#total(userId) > 0;
  }

  /** True while the store has `userId` online (a socket of either kind on any node); false when the store fails. */
  async isOnline(userId: string): Promise<boolean> {
    if (this.#total(userId) > 0) return true;
    return this.#store.isOnline(userId).catch(() => false);
  }

  add(userId: string, kind: PresenceKind = 'signal'): void {
    const counts = kind === 'chat' ? this.#chat : this.#counts;
    const before = this.#total(userId);
    counts.set(userId, (counts.get(userId) ?? 0) + 1);
    if (before === 0) {
      void this.#write([userId]);
      this.onChange?.(userId, true);
    }
  }

  remove(userId: string, kind: PresenceKind = 'signal'): void {
    const counts = kind === 'chat' ? this.#chat : this.#counts;
    const n = (counts.get(userId) ?? 0) - 1;
    if (n > 0) counts.set(userId, n);
    else counts.delete(userId);
    if (this.#total(userId) > 0) return;
    void this.#store.release(userId, this.options.nodeId).catch(() => undefined).then(() => this.onChange?.(userId, false));
  }

  #total(userId: string): number {
    return (this.#counts.get(userId) ?? 0) + (this.#chat.get(userId) ?? 0);
  }

  /** How often `refresh` should run to keep every key alive. */
  get refreshMs(): number {
    return Math.max(PRESENCE_MIN_REFRESH_MS, Math.floor(this.options.ttlMs / PRESENCE_REFRESHES_PER_TTL));
  }

  /**
   * Refreshes every local user's key, PRESENCE_BATCH keys per Redis command (one script, so
   * one command object and one write for the whole batch) and one command at a time, so
   * thousands of users neither stall the event loop nor flood Redis. A refresh still running
   * when the next is due makes that one a no-op.
   */
  async refresh(): Promise<void> {
    if (this.#refreshing) return;
    this.#refreshing = true;
    try {
      const users = [...new Set([...this.#counts.keys(), ...this.#chat.keys()])];
      for (let i = 0; i < users.length; i += PRESENCE_BATCH) await this.#write(users.slice(i, i + PRESENCE_BATCH));
    } finally {
      this.#refreshing = false;
    }
  }

  async #write(users: string[]): Promise<void> {
    const { ttlMs, nodeId, log } = this.options;
    if (users.length === 0) return;
    await this.#store.mark(users, nodeId, ttlMs).catch((err: unknown) => log.debug({ err }, 'presence write failed'));
  }
}
