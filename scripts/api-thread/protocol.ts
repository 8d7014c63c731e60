import type { CallAnnouncement } from '../../shared/calls/index.js';
import type { Config } from '../../config/index.js';

/** What the API thread starts from (structured-cloned into it). */
export interface ApiThreadData {
  config: Config;
  /** The database the main thread resolved (an embedded one runs as a child of the main thread). */
  mongoUrl: string;
  /** True when no Redis joins the tiers: presence and announcements go over the thread's port. */
  linkToSignal: boolean;
}

/** Messages from the API thread to the main thread. */
export type FromApiThread =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'stopped' }
  | { type: 'presence'; id: number; userId: string }
  | { type: 'announce'; announcement: CallAnnouncement };

/** Messages from the main thread to the API thread. */
export type ToApiThread =
  | { type: 'stop' }
  | { type: 'presence'; id: number; online: boolean };
