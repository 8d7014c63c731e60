import type { Logger } from '../../shared/runtime/logger.js';
import {
  nodeChannelName, roomChannelName,
  type Broker, type BrokerHandler, type BrokerStatus, type SubscribeOptions, type Subscription,
} from './broker.js';
import { LocalHandlers, StatusListeners, type HandlerEntry } from './local-handlers.js';

type HubListener = (channel: string, from: string, payload: string) => void;

/**
 * The in-process "transport" of `MemoryBroker`s. Brokers sharing one hub behave like nodes
 * sharing one Redis; a broker without an explicit hub gets a private one.
 */
export class MemoryHub {
  readonly #listeners = new Map<string, Set<HubListener>>();

  /** @internal Subscribes a broker to `channel`. */
  attach(channel: string, listener: HubListener): void {
    let set = this.#listeners.get(channel);
    if (!set) this.#listeners.set(channel, (set = new Set()));
    set.add(listener);
  }

  /** @internal Unsubscribes a broker from `channel`. */
  detach(channel: string, listener: HubListener): void {
    const set = this.#listeners.get(channel);
    if (set?.delete(listener) && set.size === 0) this.#listeners.delete(channel);
  }

  /** Delivers to every attached broker in a later microtask, in publish order; returns how many. */
  publish(channel: string, from: string, payload: string): number {
    const listeners = this.#listeners.get(channel) ?? new Set<HubListener>();
    for (const listener of listeners) {
      queueMicrotask(() => listener(channel, from, payload));
    }
    return listeners.size;
  }

  /** Channels with at least one subscribed broker (the hub's `PUBSUB CHANNELS`). */
  channels(): string[] {
    return [...this.#listeners.keys()];
  }
}

/** Options of `MemoryBroker`. */
export interface MemoryBrokerOptions {
  nodeId: string;
  prefix: string;
  log?: Logger;
  /** Share one hub between brokers to simulate several nodes in one process. */
  hub?: MemoryHub;
}

/** A single-process `Broker`: asynchronous delivery, status `up` until closed. */
export class MemoryBroker implements Broker {
  readonly nodeId: string;
  readonly #prefix: string;
  readonly #hub: MemoryHub;
  readonly #handlers: LocalHandlers;
  readonly #statusListeners: StatusListeners;
  readonly #deliver: HubListener = (channel, from, payload) => this.#handlers.dispatch(channel, from, payload);
  #closed = false;

  constructor(options: MemoryBrokerOptions) {
    this.nodeId = options.nodeId;
    this.#prefix = options.prefix;
    this.#hub = options.hub ?? new MemoryHub();
    const log = options.log?.child({ component: 'broker', node: options.nodeId });
    this.#handlers = new LocalHandlers(options.nodeId, log);
    this.#statusListeners = new StatusListeners(log);
  }

  get status(): BrokerStatus {
    return this.#closed ? 'down' : 'up';
  }

  async publish(channel: string, payload: string): Promise<number> {
    if (this.#closed) throw new Error('broker is closed');
    return this.#hub.publish(channel, this.nodeId, payload);
  }

  async subscribe(channel: string, handler: BrokerHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    if (this.#closed) throw new Error('broker is closed');
    const entry: HandlerEntry = { handler, skipOwn: options.skipOwn === true };
    if (this.#handlers.add(channel, entry)) this.#hub.attach(channel, this.#deliver);
    return {
      unsubscribe: async () => {
        if (this.#handlers.remove(channel, entry)) this.#hub.detach(channel, this.#deliver);
      },
    };
  }

  nodeChannel(nodeId: string): string {
    return nodeChannelName(this.#prefix, nodeId);
  }

  roomChannel(callId: string): string {
    return roomChannelName(this.#prefix, callId);
  }

  onStatus(listener: (status: BrokerStatus) => void): () => void {
    return this.#statusListeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const channel of this.#handlers.channels()) this.#hub.detach(channel, this.#deliver);
    this.#handlers.clear();
    this.#statusListeners.emit('down');
    this.#statusListeners.clear();
  }
}
