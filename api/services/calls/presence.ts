import type { Redis } from 'ioredis';

/** Whether a host is connected to the signaling tier right now. */
export interface HostPresence {
  isOnline(userId: string): Promise<boolean>;
}

/** The Redis key the signal tier keeps while a user has a live signaling connection. */
export function presenceKey(prefix: string, userId: string): string {
  return `${prefix}:presence:user:${userId}`;
}

/** Presence from Redis key existence; any Redis failure counts as offline (the call starts `waiting`). */
export class RedisHostPresence implements HostPresence {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  async isOnline(userId: string): Promise<boolean> {
    try {
      return (await this.redis.exists(presenceKey(this.prefix, userId))) === 1;
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
