import { writeFileSync } from 'node:fs';
import type { Db } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import type { Call, CallStore, MongoCallStore, Peer } from '../../shared/calls/index.js';
import type { KeyRing } from '../../shared/tokens/index.js';
import { MongoCallStore as Store } from '../../shared/calls/index.js';
import type { SignalNode } from '../../signal/main.js';
import { dropRedisPrefix, freshDb, mongoUrl, redisClient, redisUrl, uniqueName } from './services.js';
import { createCall, makeKeys, peerToken, spawnNode, startLocalNode } from './signal-cluster.js';
import { SignalClient } from './ws-client.js';

/** A signal node started by the harness, in this process. */
export interface LocalNode {
  node: SignalNode;
  url: string;
  /** The real call store (the node may use a decorator around it, see `wrapStore`). */
  store: MongoCallStore;
}

/** A signal node started by the harness as its own OS process. */
export type SpawnedNode = Awaited<ReturnType<typeof spawnNode>>;

/** The database (by handle and name) and signing keys (folder and ring) the harness's nodes use. */
export interface HarnessTarget {
  db: Db;
  name: string;
  keys: { dir: string; ring: KeyRing };
}

export interface SignalHarnessOptions {
  /** A private Redis for the nodes (it goes away with its test file, so its keys are not dropped). */
  redisUrl?: () => string;
  /** Run on the database and keys of a product under test (read at set-up; neither is dropped) instead of fresh ones. */
  on?: () => HarnessTarget;
}

/** How `activeCall` joins: the guest and then the host, or both sockets open first and then both join at once. */
export type JoinOrder = 'guest first' | 'at once';

/** Two joined peers of one call, `active` once both have seen it (see `activeCall`). */
export interface CallPair {
  call: Call;
  host: SignalClient;
  guest: SignalClient;
}

/**
 * The set-up the signal integration tests share: a key ring, a fresh database and call store, a
 * Redis key prefix, nodes (in-process or spawned), and clients; `close()` kills the clients, stops
 * the nodes and drops the prefix and the database. `useSignalHarness` wires it to the hooks.
 * With `SIGNAL_TEST_DUMP=<file>` set, `close()` first writes the spawned nodes' logs to that file;
 * `SIGNAL_TEST_LOG` sets their log level (`info` by default: tests read their log lines).
 */
export class SignalHarness {
  readonly prefix: string;
  readonly nodes: LocalNode[] = [];
  readonly procs: SpawnedNode[] = [];
  readonly clients: SignalClient[] = [];
  #keys: HarnessTarget['keys'] | undefined;
  #db: (HarnessTarget & { drop(): Promise<void> }) | undefined;
  #store: MongoCallStore | undefined;
  readonly #extraPrefixes: string[] = [];

  constructor(readonly label: string, readonly options: SignalHarnessOptions = {}) {
    this.prefix = uniqueName(label);
  }

  async setup(): Promise<void> {
    const target = this.options.on?.();
    if (target) {
      this.#keys = target.keys;
      this.#db = { ...target, drop: async () => undefined };
    } else {
      const fresh = await freshDb(this.label);
      this.#db = { db: fresh.db, name: fresh.name, keys: this.keys, drop: () => fresh.drop() };
    }
    this.#store = new Store(this.#db.db);
  }

  /** The key folder (for spawned nodes) and ring (to mint tokens): fresh ones unless `on` names a product's. */
  get keys(): HarnessTarget['keys'] {
    if (!this.#keys && this.options.on) throw new Error('SignalHarness: setup() has not run');
    this.#keys ??= makeKeys();
    return this.#keys;
  }

  get db(): HarnessTarget {
    if (!this.#db) throw new Error('SignalHarness: setup() has not run');
    return this.#db;
  }

  /** The call store on the test database (create calls with `createCall`). */
  get store(): MongoCallStore {
    if (!this.#store) throw new Error('SignalHarness: setup() has not run');
    return this.#store;
  }

  /** The Redis the nodes use: the suite's shared one unless the harness was given another. */
  get redisUrl(): string {
    return this.options.redisUrl ? this.options.redisUrl() : redisUrl();
  }

  /** A further Redis key prefix, dropped by `close()` (for a second independent cluster). */
  extraPrefix(label: string): string {
    const prefix = uniqueName(label);
    this.#extraPrefixes.push(prefix);
    return prefix;
  }

  /** `REDIS_URL` and `REDIS_PREFIX` (this harness's prefix unless given) plus `extra`. */
  redisEnv(extra: Record<string, string> = {}, prefix = this.prefix): Record<string, string> {
    return { REDIS_URL: this.redisUrl, REDIS_PREFIX: prefix, ...extra };
  }

  /** Starts a node in this process on the harness's database (no Redis unless `env` names one). */
  async local(env: Record<string, string> = {}, wrapStore?: (store: MongoCallStore) => CallStore): Promise<LocalNode> {
    const started = await startLocalNode({ db: this.db.db, ring: this.keys.ring, env, ...(wrapStore ? { wrapStore } : {}) });
    this.nodes.push(started);
    return started;
  }

  /** Starts a node process on the harness's database and keys (Redis settings come with `env`). */
  async spawn(env: Record<string, string>, options: { openFilesLimit?: number } = {}): Promise<SpawnedNode> {
    const proc = await spawnNode({
      MONGO_URL: mongoUrl(), MONGO_DB: this.db.name, JWT_KEYS_DIR: this.keys.dir, LOG_LEVEL: process.env.SIGNAL_TEST_LOG ?? 'info', ...env,
    }, options);
    this.procs.push(proc);
    return proc;
  }

  /** A fresh `waiting` 1:1 call (overrides as for `createCall`). */
  call(overrides: Partial<Call> = {}): Promise<Call> {
    return createCall(this.store, overrides);
  }

  /** The signaling token of `peer` of `call`. */
  token(call: Call, peer: Peer, options: Parameters<typeof peerToken>[3] = {}): Promise<string> {
    return peerToken(this.keys.ring, call, peer, options);
  }

  /** Opens a socket with `token`; killed by `close()`. */
  async connectWith(url: string, token: string): Promise<SignalClient> {
    const client = await SignalClient.connect(url, token);
    this.clients.push(client);
    return client;
  }

  /** Opens a socket as `peer` of `call`. */
  async connect(url: string, call: Call, peer: Peer): Promise<SignalClient> {
    return this.connectWith(url, await this.token(call, peer));
  }

  /** Opens a socket as `peer` of `call` and joins (with `last_seq` when given). */
  async joined(url: string, call: Call, peer: Peer, lastSeq?: number): Promise<SignalClient> {
    const client = await this.connect(url, call, peer);
    await client.join(lastSeq);
    return client;
  }

  /**
   * A new call with its guest on `guestUrl` and its host on `hostUrl` (the same node unless given),
   * joined in `order`, both having seen the call turn `active`.
   */
  async activeCall(hostUrl: string, guestUrl = hostUrl, timeoutMs = 10000, order: JoinOrder = 'guest first'): Promise<CallPair> {
    const call = await this.call();
    let guest: SignalClient;
    let host: SignalClient;
    if (order === 'at once') {
      guest = await this.connect(guestUrl, call, 'guest');
      host = await this.connect(hostUrl, call, 'host');
      await Promise.all([guest.join(), host.join()]);
    } else {
      guest = await this.joined(guestUrl, call, 'guest');
      host = await this.joined(hostUrl, call, 'host');
    }
    await Promise.all([guest, host].map((c) => c.waitType('call-state', timeoutMs, (f) => f.data.status === 'active')));
    return { call, guest, host };
  }

  /** Kills the clients, stops the nodes, drops the Redis prefixes and the database. Safe to call twice. */
  async close(): Promise<void> {
    const dump = process.env.SIGNAL_TEST_DUMP;
    if (dump && this.procs.length > 0) {
      writeFileSync(dump, this.procs.map((p) => p.logs.map((l) => JSON.stringify(l)).join('\n') + '\n' + p.stderr()).join('\n====\n'));
    }
    for (const c of this.clients.splice(0)) c.kill();
    for (const n of this.nodes.splice(0)) await n.node.close().catch(() => undefined);
    const procs = this.procs.splice(0);
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    const prefixes = [this.prefix, ...this.#extraPrefixes.splice(0)];
    // A private Redis (`options.redisUrl`) goes away with its test file; the shared one is cleaned.
    if (!this.options.redisUrl) {
      const r = redisClient();
      for (const prefix of prefixes) await dropRedisPrefix(r, prefix);
      r.disconnect();
    }
    await this.#db?.drop();
    this.#db = undefined;
  }
}

/** A harness whose set-up and tear-down run in the enclosing describe block (or file). */
export function useSignalHarness(label: string, options: SignalHarnessOptions = {}): SignalHarness {
  const harness = new SignalHarness(label, options);
  beforeAll(() => harness.setup());
  afterAll(() => harness.close());
  return harness;
}
