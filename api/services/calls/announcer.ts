import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { announcementOf, callsChannelName, type Call, type CallAnnouncement } from '../../../shared/calls/index.js';
import { stampMessage } from '../../../shared/pubsub/wire.js';

/**
 * Tells the signal tier about a transition the API made (end, ring timeout), so every node
 * pushes `call-state` to its sockets of that call. Best effort: a failure is logged, never
 * thrown, since the stored call is already authoritative and nodes re-read it on join.
 */
export interface CallAnnouncer {
  announce(call: Call): Promise<void>;
}

/** Publishes on `<prefix>:ch:calls` in the broker wire format, stamped `api:<nodeId>`. */
export class RedisCallAnnouncer implements CallAnnouncer {
  readonly #channel: string;
  readonly #stamp: string;

  constructor(private readonly redis: Redis, prefix: string, nodeId: string, private readonly log: Logger) {
    this.#channel = callsChannelName(prefix);
    this.#stamp = `api:${nodeId}`;
  }

  async announce(call: Call): Promise<void> {
    try {
      await this.redis.publish(this.#channel, stampMessage(this.#stamp, JSON.stringify(announcementOf(call))));
    } catch (err) {
      this.log.warn({ err, call: call.id }, 'call-state announcement not published');
    }
  }
}

/** Hands announcements to a signal node in the same process (`all` mode without Redis). */
export class InProcessCallAnnouncer implements CallAnnouncer {
  constructor(private readonly deliver: (announcement: CallAnnouncement) => void) {}

  async announce(call: Call): Promise<void> {
    this.deliver(announcementOf(call));
  }
}

/** No signal tier to tell (an `api`-only process without Redis). */
export class NoCallAnnouncer implements CallAnnouncer {
  async announce(): Promise<void> {}
}
