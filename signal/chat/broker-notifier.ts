import type { Logger } from 'pino';
import type { ChatEvent, ChatNotifier } from '../../shared/chat/events.js';
import { userChannelName } from '../../shared/chat/types.js';
import type { Broker } from '../broker/broker.js';

/** Publishes chat events on the users' channels through the node's broker (Redis or in-process); failures are logged. */
export class BrokerChatNotifier implements ChatNotifier {
  constructor(private readonly broker: Broker, private readonly prefix: string, private readonly log: Logger) {}

  async notify(userIds: readonly string[], event: ChatEvent): Promise<void> {
    const payload = JSON.stringify(event);
    const results = await Promise.allSettled(userIds.map((id) => this.broker.publish(userChannelName(this.prefix, id), payload)));
    if (results.some((r) => r.status === 'rejected')) this.log.warn({ event: event.t }, 'chat event not published (broker down); recipients catch up on their next message or reconnect');
  }
}
