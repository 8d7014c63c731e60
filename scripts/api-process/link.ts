import type { CallAnnouncer } from '../../api/services/calls/announcer.js';
import type { HostPresence } from '../../api/services/calls/presence.js';
import type { ChatEvent, ChatNotifier } from '../../shared/chat/events.js';
import { announcementOf, type Call, type CallCacheWriter } from '../../shared/calls/index.js';
import type { FromApiProcess, ToApiProcess } from './protocol.js';

/** Longest the API waits for the signal node's presence answer; no answer counts as offline. */
export const PRESENCE_ANSWER_MS = 2000;

/**
 * The API process's side of the in-process signal link (`all` mode without Redis): presence
 * questions, call announcements, calls for its call cache and chat events cross to the signal node in the parent
 * process as IPC messages (in order: a call is cached there before it is announced).
 */
export class IpcSignalLink implements HostPresence, CallAnnouncer, CallCacheWriter, ChatNotifier {
  #next = 0;
  readonly #pending = new Map<number, (online: boolean) => void>();

  constructor(private readonly send: (message: FromApiProcess) => void) {}

  /** A presence answer from the signal side. */
  answer(message: ToApiProcess): void {
    if (message.type === 'presence') this.#pending.get(message.id)?.(message.online);
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
      this.send({ type: 'presence', id, userId });
    });
  }

  async announce(call: Call): Promise<void> {
    this.send({ type: 'announce', announcement: announcementOf(call) });
  }

  async put(call: Call): Promise<void> {
    this.send({ type: 'cache-call', call });
  }

  async notify(userIds: readonly string[], event: ChatEvent): Promise<void> {
    this.send({ type: 'chat', userIds: [...userIds], event });
  }
}
