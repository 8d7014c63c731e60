import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../shared/runtime/logger.js';
import { stampMessage, unstampMessage } from '../../shared/pubsub/wire.js';
import {
  nodeChannelName, roomChannelName,
  type Broker, type BrokerHandler, type BrokerStatus, type SubscribeOptions, type Subscription,
} from './broker.js';
import { LocalHandlers, StatusListeners, type HandlerEntry } from './local-handlers.js';

/** Options of `RedisBroker`. */
export interface RedisBrokerOptions {
  /** Must not contain a newline (it ends the wire stamp). */
  nodeId: string;
  prefix: string;
  /** `redis://…` of the server every node shares. */
  url: string;
  log?: Logger;
  /** How long publish/subscribe wait for the very first connection; default 10 s. */
  connectTimeoutMs?: number;
  /** Per-command limit, so a half-open socket cannot stall a publish; default 5 s. */
  commandTimeoutMs?: number;
}

interface TransportState {
  subscribed: boolean;
  /** Transport (un)subscribe operations for one channel run one at a time, in order. */
  chain: Promise<void>;
  pending: number;
}

const noop = (): void => undefined;

/**
 * A `Broker` on Redis pub/sub: one publisher and one subscriber connection per node.
 * Fails fast while Redis is unreachable, reconnects forever, and restores every channel that
 * still has local handlers before reporting `up` again.
 */
export class RedisBroker implements Broker {
  readonly nodeId: string;
  readonly #prefix: string;
  readonly #log: Logger | undefined;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #handlers: LocalHandlers;
  readonly #statusListeners: StatusListeners;
  readonly #transport = new Map<string, TransportState>();
  readonly #connectTimeoutMs: number;
  readonly #firstUp: Promise<void>;
  #resolveFirstUp: () => void = noop;
  #rejectFirstUp: (err: Error) => void = noop;
  /** True once the subscriber connection is ready and every wanted channel is subscribed. */
  #subUp = false;
  #subEpoch = 0;
  #everUp = false;
  #status: BrokerStatus = 'down';
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: RedisBrokerOptions) {
    if (!options.nodeId || options.nodeId.includes('\n')) {
      throw new TypeError('nodeId must be a non-empty string without newlines');
    }
    this.nodeId = options.nodeId;
    this.#prefix = options.prefix;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#log = options.log?.child({ component: 'broker', node: options.nodeId });
    this.#handlers = new LocalHandlers(options.nodeId, this.#log);
    this.#statusListeners = new StatusListeners(this.#log);
    this.#firstUp = new Promise<void>((resolve, reject) => {
      this.#resolveFirstUp = resolve;
      this.#rejectFirstUp = reject;
    });
    this.#firstUp.catch(noop);

    const common: RedisOptions = {
      // Fail fast instead of queueing while disconnected; in-flight commands fail on the first drop.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs ?? 5_000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    };
    this.#pub = new Redis(options.url, { ...common, connectionName: `${options.prefix}:${options.nodeId}:pub` });
    // ioredis' own autoResubscribe emits 'ready' before its SUBSCRIBE is confirmed; we
    // resubscribe ourselves so that `up` means "subscriptions active".
    this.#sub = new Redis(options.url, {
      ...common, autoResubscribe: false, connectionName: `${options.prefix}:${options.nodeId}:sub`,
    });

    this.#pub.on('error', (err: Error) => this.#log?.debug({ err, conn: 'pub' }, 'redis connection error'));
    this.#sub.on('error', (err: Error) => this.#log?.debug({ err, conn: 'sub' }, 'redis connection error'));
    for (const event of ['ready', 'close', 'end']) this.#pub.on(event, () => this.#refreshStatus());
    this.#sub.on('ready', () => void this.#onSubReady());
    this.#sub.on('close', () => this.#onSubLost());
    this.#sub.on('end', () => this.#onSubLost());
    this.#sub.on('message', (channel: string, raw: string) => this.#onMessage(channel, raw));
  }

  get status(): BrokerStatus {
    return this.#status;
  }

  /** Resolves once the broker has been `up` for the first time; rejects if closed first. */
  ready(): Promise<void> {
    return this.#firstUp;
  }

  publish(channel: string, payload: string): Promise<number> {
    if (this.#closed) return Promise.reject(new Error('broker is closed'));
    // Publishing straight away when possible keeps calls in order on the one publisher connection.
    if (this.#pub.status === 'ready') return this.#send(channel, payload);
    if (this.#everUp) return Promise.reject(new Error('broker is down: cannot publish'));
    return this.#awaitFirstUp().then(() => this.#send(channel, payload));
  }

  async subscribe(channel: string, handler: BrokerHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    if (this.#closed) throw new Error('broker is closed');
    if (this.#sub.status !== 'ready') {
      if (this.#everUp) throw new Error('broker is down: cannot subscribe');
      await this.#awaitFirstUp();
    }
    const entry: HandlerEntry = { handler, skipOwn: options.skipOwn === true };
    this.#handlers.add(channel, entry);
    try {
      await this.#reconcile(channel);
    } catch (err) {
      if (this.#handlers.remove(channel, entry)) this.#reconcile(channel).catch(noop);
      throw new Error(`subscribe to ${channel} failed`, { cause: err });
    }
    let done: Promise<void> | undefined;
    return {
      unsubscribe: () => (done ??= this.#unsubscribe(channel, entry)),
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

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#rejectFirstUp(new Error('broker is closed'));
      this.#handlers.clear();
      await Promise.all([quit(this.#pub), quit(this.#sub)]);
      this.#refreshStatus();
      this.#statusListeners.clear();
    })();
    return this.#closing;
  }

  async #send(channel: string, payload: string): Promise<number> {
    try {
      return await this.#pub.publish(channel, stampMessage(this.nodeId, payload));
    } catch (err) {
      throw new Error(`publish to ${channel} failed`, { cause: err });
    }
  }

  async #awaitFirstUp(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`broker not up after ${this.#connectTimeoutMs} ms`)), this.#connectTimeoutMs);
    });
    try {
      await Promise.race([this.#firstUp, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #unsubscribe(channel: string, entry: HandlerEntry): Promise<void> {
    if (!this.#handlers.remove(channel, entry)) return;
    await this.#reconcile(channel).catch((err: unknown) => {
      this.#log?.warn({ err, channel }, 'redis unsubscribe failed');
    });
  }

  /** Brings the transport subscription of `channel` in line with its local handler count. */
  #reconcile(channel: string): Promise<void> {
    let state = this.#transport.get(channel);
    if (!state) this.#transport.set(channel, (state = { subscribed: false, chain: Promise.resolve(), pending: 0 }));
    const s = state;
    s.pending += 1;
    const run = s.chain
      .then(async () => {
        const wanted = !this.#closed && this.#handlers.count(channel) > 0;
        if (wanted && !s.subscribed) {
          await this.#sub.subscribe(channel);
          s.subscribed = true;
        } else if (!wanted && s.subscribed) {
          s.subscribed = false;
          if (!this.#closed) await this.#sub.unsubscribe(channel);
        }
      })
      .finally(() => {
        s.pending -= 1;
        if (s.pending === 0 && !s.subscribed && this.#transport.get(channel) === s) this.#transport.delete(channel);
      });
    s.chain = run.catch(noop);
    return run;
  }

  async #onSubReady(): Promise<void> {
    const epoch = ++this.#subEpoch;
    const results = await Promise.allSettled(this.#handlers.channels().map((channel) => this.#reconcile(channel)));
    if (epoch !== this.#subEpoch || this.#sub.status !== 'ready' || this.#closed) return;
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) this.#log?.error({ failed }, 'redis resubscribe failed for some channels');
    this.#subUp = true;
    this.#refreshStatus();
  }

  #onSubLost(): void {
    this.#subEpoch += 1;
    this.#subUp = false;
    for (const state of this.#transport.values()) state.subscribed = false;
    this.#refreshStatus();
  }

  #onMessage(channel: string, raw: string): void {
    const message = unstampMessage(raw);
    if (!message) {
      this.#log?.warn({ channel }, 'broker message without node stamp dropped');
      return;
    }
    this.#handlers.dispatch(channel, message.from, message.payload);
  }

  #refreshStatus(): void {
    const next: BrokerStatus = !this.#closed && this.#pub.status === 'ready' && this.#subUp ? 'up' : 'down';
    if (next === this.#status) return;
    this.#status = next;
    if (next === 'up') {
      if (this.#everUp) this.#log?.info('broker up again');
      this.#everUp = true;
      this.#resolveFirstUp();
    } else if (!this.#closed) {
      this.#log?.warn('broker down');
    }
    this.#statusListeners.emit(next);
  }
}

/** Waits for pending replies when connected; otherwise just stops reconnecting. */
async function quit(conn: Redis): Promise<void> {
  if (conn.status === 'ready') {
    try {
      await conn.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  conn.disconnect();
}
