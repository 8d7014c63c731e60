import type { ChatMessage } from './types.js';

/**
 * What travels on a user's channel (`userChannelName`) from whichever process wrote it (an API
 * copy or a signal node) to every node holding a socket of that user.
 */
export type ChatEvent =
  | { t: 'message'; message: ChatMessage }
  | { t: 'read'; conversation_id: string; user_id: string; seq: number }
  | { t: 'typing'; conversation_id: string; user_id: string }
  | { t: 'conversation'; conversation_id: string; change: 'created' | 'deleted'; user_id: string }
  | { t: 'presence'; user_id: string; online: boolean };

/** Tells the realtime tier about chat events; best effort (the store is authoritative, clients recover from it). */
export interface ChatNotifier {
  notify(userIds: readonly string[], event: ChatEvent): Promise<void>;
}

/** No realtime tier to tell. */
export class NoChatNotifier implements ChatNotifier {
  async notify(): Promise<void> {}
}
