import type { Redis } from 'ioredis';
import { RedisPresenceStore, type PresenceStore } from '../../../shared/presence/index.js';

/** Whether a host is connected to the signal tier right now: a signaling or a chat socket on any node (docs/calls-api.md). */
export interface HostPresence {
  isOnline(userId: string): Promise<boolean>;
}

/** Presence as the signal tier marks it (`shared/presence`); any Redis failure counts as offline (the call starts `waiting`). */
export class RedisHostPresence implements HostPresence {
  readonly #store: PresenceStore;

  constructor(redis: Redis, prefix: string) {
    this.#store = new RedisPresenceStore(redis, prefix);
  }

  async isOnline(userId: string): Promise<boolean> {
    try {
      return await this.#store.isOnline(userId);
    } catch {
      return false;
    }
  }
}

/** Without Redis the API cannot see signaling connections: everyone is offline. */
export class NoHostPresence implements HostPresence {
  async isOnline(): Promise<boolean> {
    return false;
  }
}
