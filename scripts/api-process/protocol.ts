import type { Call, CallAnnouncement } from '../../shared/calls/index.js';
import type { ChatEvent } from '../../shared/chat/events.js';
import type { Config } from '../../config/index.js';

/** What the API process starts from (its first message). */
export interface ApiProcessData {
  config: Config;
  /** The database the parent resolved (an embedded one is the parent's child). */
  mongoUrl: string;
  /** True when no Redis joins the tiers: presence, announcements and chat events go over the IPC channel. */
  linkToSignal: boolean;
}

/** Messages from the API process to its parent. */
export type FromApiProcess =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'stopped' }
  | { type: 'presence'; id: number; userId: string }
  | { type: 'announce'; announcement: CallAnnouncement }
  /** A call created, moved or read by the API, for the node's call cache (IPC's advanced serialization keeps its dates). */
  | { type: 'cache-call'; call: Call }
  | { type: 'chat'; userIds: string[]; event: ChatEvent };

/** Messages from the parent to the API process. */
export type ToApiProcess =
  | { type: 'init'; data: ApiProcessData }
  | { type: 'stop' }
  | { type: 'presence'; id: number; online: boolean }
  /** The signal node is up: forward `/v1/chat/ws` upgrades on the API port to it. */
  | { type: 'forward-chat'; host: string; port: number };
