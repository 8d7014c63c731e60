import type { Logger } from '../../shared/runtime/logger.js';
import type { BrokerHandler, BrokerStatus } from './broker.js';

/** One local registration; compared by identity, so the same function may be added twice. */
export interface HandlerEntry {
  readonly handler: BrokerHandler;
  readonly skipOwn: boolean;
}

/**
 * A node's local handlers per channel, shared by the broker implementations. Dispatch isolates
 * handlers from each other: a throwing or rejecting handler is logged and the rest still run.
 */
export class LocalHandlers {
  readonly #channels = new Map<string, Set<HandlerEntry>>();
  readonly #nodeId: string;
  readonly #log: Logger | undefined;

  constructor(nodeId: string, log?: Logger) {
    this.#nodeId = nodeId;
    this.#log = log;
  }

  /** Adds `entry`; true when it is the channel's first handler. */
  add(channel: string, entry: HandlerEntry): boolean {
    let set = this.#channels.get(channel);
    if (!set) this.#channels.set(channel, (set = new Set()));
    set.add(entry);
    return set.size === 1;
  }

  /** Removes `entry`; true when it was the channel's last handler. */
  remove(channel: string, entry: HandlerEntry): boolean {
    const set = this.#channels.get(channel);
    if (!set?.delete(entry)) return false;
    if (set.size > 0) return false;
    this.#channels.delete(channel);
    return true;
  }

  /** Number of local handlers on `channel`. */
  count(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0;
  }

  /** Channels with at least one local handler. */
  channels(): string[] {
    return [...this.#channels.keys()];
  }

  clear(): void {
    this.#channels.clear();
  }

  /** Runs every current handler of `channel` once, in registration order. */
  dispatch(channel: string, from: string, payload: string): void {
    const set = this.#channels.get(channel);
    if (!set) return;
    const own = from === this.#nodeId;
    // A snapshot, so a handler added during dispatch does not see an older message.
    for (const entry of [...set]) {
      if ((own && entry.skipOwn) || !set.has(entry)) continue;
      try {
        const result: unknown = entry.handler({ channel, payload, from });
        if (result instanceof Promise) result.catch((err: unknown) => this.#handlerFailed(channel, err));
      } catch (err) {
        this.#handlerFailed(channel, err);
      }
    }
  }

  #handlerFailed(channel: string, err: unknown): void {
    this.#log?.error({ err, channel }, 'broker handler failed');
  }
}

/** Status listeners whose exceptions are logged, never propagated. */
export class StatusListeners {
  readonly #listeners = new Set<(status: BrokerStatus) => void>();
  readonly #log: Logger | undefined;

  constructor(log?: Logger) {
    this.#log = log;
  }

  /** Adds `listener`; the returned function removes it (idempotent). */
  add(listener: (status: BrokerStatus) => void): () => void {
    const wrapped = (status: BrokerStatus): void => listener(status);
    this.#listeners.add(wrapped);
    return () => void this.#listeners.delete(wrapped);
  }

  emit(status: BrokerStatus): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(status);
      } catch (err) {
        this.#log?.error({ err, status }, 'broker status listener failed');
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
