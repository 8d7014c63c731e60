import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ChatEvent, ChatNotifier } from '../../../shared/chat/events.js';
import { userChannelName } from '../../../shared/chat/types.js';
import { stampMessage } from '../../../shared/pubsub/wire.js';

/** Publishes chat events on each user's channel in the broker wire format, stamped `api:<nodeId>`. Failures are logged. */
export class RedisChatNotifier implements ChatNotifier {
  readonly #stamp: string;

  constructor(private readonly redis: Redis, private readonly prefix: string, nodeId: string, private readonly log: Logger) {
    this.#stamp = `api:${nodeId}`;
  }

  async notify(userIds: readonly string[], event: ChatEvent): Promise<void> {
    const payload = stampMessage(this.#stamp, JSON.stringify(event));
    try {
      await Promise.all(userIds.map((id) => this.redis.publish(userChannelName(this.prefix, id), payload)));
    } catch (err) {
      this.log.warn({ err, event: event.t }, 'chat event not published');
    }
  }
}

/** Hands events to a signal node in the same process (`all` mode without Redis). */
export class InProcessChatNotifier implements ChatNotifier {
  constructor(private readonly deliver: (userIds: readonly string[], event: ChatEvent) => void) {}

  async notify(userIds: readonly string[], event: ChatEvent): Promise<void> {
    this.deliver(userIds, event);
  }
}
