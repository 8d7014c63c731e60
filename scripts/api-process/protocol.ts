import type { CallAnnouncement } from '../../shared/calls/index.js';
import type { Config } from '../../config/index.js';

/** What the API process starts from (its first message). */
export interface ApiProcessData {
  config: Config;
  /** The database the parent resolved (an embedded one is the parent's child). */
  mongoUrl: string;
  /** True when no Redis joins the tiers: presence and announcements go over the IPC channel. */
  linkToSignal: boolean;
}

/** Messages from the API process to its parent. */
export type FromApiProcess =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'stopped' }
  | { type: 'presence'; id: number; userId: string }
  | { type: 'announce'; announcement: CallAnnouncement };

/** Messages from the parent to the API process. */
export type ToApiProcess =
  | { type: 'init'; data: ApiProcessData }
  | { type: 'stop' }
  | { type: 'presence'; id: number; online: boolean };
