import type { Redis } from 'ioredis';
import { RedisScript } from '../redis-script.js';
import type { Logger } from '../../shared/runtime/logger.js';
import type { NodeRegistry } from './node-registry.js';

/** Options of `RedisNodeRegistry`. */
export interface RedisNodeRegistryOptions {
  nodeId: string;
  prefix: string;
  /** A client the registry uses but does not own: `close()` leaves it connected. */
  redis: Redis;
  heartbeatMs: number;
  /** Must exceed `heartbeatMs`; a node missing heartbeats for this long is dead. */
  nodeTtlMs: number;
  log?: Logger;
}

// Scores use the Redis server clock, so nodes with skewed clocks agree on who is alive.
// replicate_commands() lets Redis < 7 accept writes after TIME; it is a no-op on 7.
const SERVER_NOW = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
`;

/** KEYS: alive key, nodes zset; ARGV: ttl ms, node id. */
const HEARTBEAT = new RedisScript(`${SERVER_NOW}
redis.call('SET', KEYS[1], now, 'PX', ttl)
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return now`);

/** KEYS: nodes zset; ARGV: ttl ms. */
const ALIVE = new RedisScript(`${SERVER_NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - ttl), '+inf')`);

/**
 * Node liveness on Redis: key `<prefix>:node:<id>:alive` with a PX TTL, plus the ZSET
 * `<prefix>:nodes` scored by last heartbeat so `aliveNodes` never scans the keyspace.
 * Heartbeat failures are logged, never thrown; the timer does not keep the process alive.
 */
export class RedisNodeRegistry implements NodeRegistry {
  readonly nodeId: string;
  readonly #prefix: string;
  readonly #redis: Redis;
  readonly #heartbeatMs: number;
  readonly #ttlMs: number;
  readonly #log: Logger | undefined;
  #starting: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  #failing = false;
  #closing: Promise<void> | undefined;

  constructor(options: RedisNodeRegistryOptions) {
    if (!(options.heartbeatMs > 0 && options.nodeTtlMs > options.heartbeatMs)) {
      throw new TypeError('need 0 < heartbeatMs < nodeTtlMs');
    }
    this.nodeId = options.nodeId;
    this.#prefix = options.prefix;
    this.#redis = options.redis;
    this.#heartbeatMs = options.heartbeatMs;
    this.#ttlMs = options.nodeTtlMs;
    this.#log = options.log?.child({ component: 'node-registry', node: options.nodeId });
  }

  start(): Promise<void> {
    if (this.#closing) return Promise.reject(new Error('node registry is closed'));
    this.#starting ??= this.#startBeating().catch((err: unknown) => {
      this.#starting = undefined;
      throw err;
    });
    return this.#starting;
  }

  async isAlive(nodeId: string): Promise<boolean> {
    return (await this.#redis.exists(this.#aliveKey(nodeId))) === 1;
  }

  async aliveNodes(): Promise<string[]> {
    return (await ALIVE.run(this.#redis, 1, this.#nodesKey(), String(this.#ttlMs))) as string[];
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      // A beat landing after the delete would bring the key back.
      await this.#inflight;
      // While Redis is unreachable the key simply expires; don't queue a delete for later.
      if (this.#redis.status !== 'ready') return;
      try {
        await this.#redis.multi().del(this.#aliveKey(this.nodeId)).zrem(this.#nodesKey(), this.nodeId).exec();
      } catch (err) {
        this.#log?.warn({ err }, 'node deregistration failed');
      }
    })();
    return this.#closing;
  }

  async #startBeating(): Promise<void> {
    const first = this.#beat();
    this.#inflight = first.catch(() => undefined).finally(() => {
      this.#inflight = undefined;
    });
    await first;
    if (this.#closing) return;
    this.#timer = setInterval(() => this.#tick(), this.#heartbeatMs);
    this.#timer.unref();
  }

  #tick(): void {
    if (this.#inflight || this.#closing) return;
    if (this.#redis.status !== 'ready') {
      this.#beatFailed(new Error(`redis connection is ${this.#redis.status}`));
      return;
    }
    this.#inflight = this.#beat()
      .then(() => {
        if (this.#failing) this.#log?.info('node heartbeat recovered');
        this.#failing = false;
      }, (err: unknown) => this.#beatFailed(err))
      .finally(() => {
        this.#inflight = undefined;
      });
  }

  #beatFailed(err: unknown): void {
    if (this.#failing) this.#log?.debug({ err }, 'node heartbeat failed');
    else this.#log?.warn({ err }, 'node heartbeat failed');
    this.#failing = true;
  }

  async #beat(): Promise<void> {
    await HEARTBEAT.run(this.#redis, 2, this.#aliveKey(this.nodeId), this.#nodesKey(), String(this.#ttlMs), this.nodeId);
  }

  #aliveKey(nodeId: string): string {
    return `${this.#prefix}:node:${nodeId}:alive`;
  }

  #nodesKey(): string {
    return `${this.#prefix}:nodes`;
  }
}
