import type { Logger } from 'pino';
import type { ChatCore } from '../../shared/chat/chat-core.js';
import { MAX_PRESENCE_FANOUT } from '../../shared/chat/protocol.js';
import { counterpartOf } from '../../shared/chat/types.js';
import type { PresenceKind } from '../calls/presence.js';

/** The node's presence as the chat route uses it (`signal/calls/presence.ts`). */
export interface ChatPresence {
  add(userId: string, kind: PresenceKind): void;
  remove(userId: string, kind: PresenceKind): void;
  isOnline(userId: string): Promise<boolean>;
  /** How often nodes refresh their marks. */
  readonly refreshMs: number;
}

/**
 * Presence between chat counterparts: who is told about a user (the other members of the user's
 * MAX_PRESENCE_FANOUT most recently active conversations) and the snapshot a `resume` answers with.
 */
export class CounterpartPresence {
  constructor(private readonly deps: { presence: ChatPresence; core: ChatCore; log: Logger }) {}

  /**
   * `userId` came online on this node, or went offline here: tells the counterparts, unless an
   * offline user is still online (another socket here, or a mark by another node). The offline
   * check waits 1.5 refresh intervals: this node's release deletes the key even when another node
   * holds the user too (the key holds the last marking node), and that node's next refresh writes
   * it back. Best effort.
   */
  async changed(userId: string, online: boolean): Promise<void> {
    const { presence, core, log } = this.deps;
    try {
      if (!online) {
        await new Promise((resolve) => setTimeout(resolve, Math.ceil(presence.refreshMs * 1.5)).unref());
        if (await presence.isOnline(userId)) return;
      }
      const counterparts = await this.#counterparts(userId);
      if (counterparts.length > 0) await core.notifier.notify(counterparts, { t: 'presence', user_id: userId, online });
    } catch (err) {
      log.warn({ err, user: userId }, 'chat presence change not sent');
    }
  }

  /** Online state of each counterpart; undefined when the store is down. */
  async snapshot(userId: string): Promise<Record<string, boolean> | undefined> {
    try {
      const users = await this.#counterparts(userId);
      const states = await Promise.all(users.map((u) => this.deps.presence.isOnline(u)));
      return Object.fromEntries(users.map((u, i) => [u, states[i] ?? false]));
    } catch (err) {
      this.deps.log.warn({ err, user: userId }, 'chat presence snapshot failed');
      return undefined;
    }
  }

  async #counterparts(userId: string): Promise<string[]> {
    const { items } = await this.deps.core.conversations.listFor(userId, 0, MAX_PRESENCE_FANOUT);
    return [...new Set(items.map((c) => counterpartOf(c, userId)))];
  }
}
