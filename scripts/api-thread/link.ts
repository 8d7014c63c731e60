import type { MessagePort } from 'node:worker_threads';
import type { CallAnnouncer } from '../../api/services/calls/announcer.js';
import type { HostPresence } from '../../api/services/calls/presence.js';
import { announcementOf, type Call } from '../../shared/calls/index.js';
import type { FromApiThread, ToApiThread } from './protocol.js';

/** Longest the API waits for the signal thread's presence answer; no answer counts as offline. */
export const PRESENCE_ANSWER_MS = 2000;

/**
 * The API thread's side of the in-process signal link (`all` mode without Redis): presence
 * questions and call announcements cross to the signal node on the main thread as messages.
 */
export class ThreadSignalLink implements HostPresence, CallAnnouncer {
  #next = 0;
  readonly #pending = new Map<number, (online: boolean) => void>();

  constructor(private readonly port: MessagePort) {
    port.on('message', (message: ToApiThread) => {
      if (message.type !== 'presence') return;
      this.#pending.get(message.id)?.(message.online);
    });
  }

  isOnline(userId: string): Promise<boolean> {
    const id = (this.#next += 1);
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(false), PRESENCE_ANSWER_MS);
      const settle = (online: boolean): void => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(online);
      };
      this.#pending.set(id, settle);
      this.port.postMessage({ type: 'presence', id, userId } satisfies FromApiThread);
    });
  }

  async announce(call: Call): Promise<void> {
    this.port.postMessage({ type: 'announce', announcement: announcementOf(call) } satisfies FromApiThread);
  }
}
