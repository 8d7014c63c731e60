/**
 * The signal tier's pub/sub contract. Implementations: `MemoryBroker` (one process) and
 * `RedisBroker` (nodes joined by Redis); `signal/main.ts` picks one at start-up.
 */

/** One delivered message; `from` is the node id of the publisher. */
export interface BrokerMessage {
  channel: string;
  payload: string;
  /** node id of the publisher */
  from: string;
}

/** A local handler; exceptions (and rejections) it raises are logged, never propagated. */
export type BrokerHandler = (message: BrokerMessage) => void;

/** One local handler's registration. */
export interface Subscription {
  /** Removes the handler; no delivery to it after this resolves. Idempotent; never rejects. */
  unsubscribe(): Promise<void>;
}

/** Options for `Broker.subscribe`. */
export interface SubscribeOptions {
  /** Drop messages this node published (they are stamped with the publisher's node id). */
  skipOwn?: boolean;
}

/** `up` when the broker can both publish and deliver. */
export type BrokerStatus = 'up' | 'down';

/** Cross-node pub/sub with per-channel ordering from each publisher. */
export interface Broker {
  readonly nodeId: string;
  /**
   * Publish to every subscriber of `channel` on every node; resolves to how many nodes'
   * subscriptions received it (0: no node listens on the channel, e.g. its node died). Rejects
   * when the transport is down (fails fast, never queues); never throws synchronously.
   */
  publish(channel: string, payload: string): Promise<number>;
  /**
   * Adds a local handler. The transport subscribes only when the first local handler for the
   * channel appears and unsubscribes when the last leaves. Resolves once the subscription is
   * active, so a message published after that by any node reaches the handler.
   */
  subscribe(channel: string, handler: BrokerHandler, options?: SubscribeOptions): Promise<Subscription>;
  /** The per-node channel name for `nodeId` (`<prefix>:ch:node:<nodeId>`). */
  nodeChannel(nodeId: string): string;
  /** The per-call channel name (`<prefix>:ch:room:<callId>`). */
  roomChannel(callId: string): string;
  /** Current transport status; `down` for good after `close()`. */
  readonly status: BrokerStatus;
  /** Calls `listener` on every status change; returns a function removing it. */
  onStatus(listener: (status: BrokerStatus) => void): () => void;
  /** Closes transport connections; idempotent; later publish/subscribe reject. */
  close(): Promise<void>;
}

/** `<prefix>:ch:node:<nodeId>`, shared by every implementation. */
export function nodeChannelName(prefix: string, nodeId: string): string {
  return `${prefix}:ch:node:${nodeId}`;
}

/** `<prefix>:ch:room:<callId>`, shared by every implementation. */
export function roomChannelName(prefix: string, callId: string): string {
  return `${prefix}:ch:room:${callId}`;
}
