import { expect } from 'vitest';
import { MongoClient, type Db } from 'mongodb';
import { LedgerRepository } from '../../../api/repositories/ledger.js';
import { LedgerService } from '../../../api/services/payments/ledger.js';
import { testConfig } from '../../helpers/config.js';
import type { TestApi } from '../../helpers/api.js';
import { startProductProcess, type ProductProcess } from '../../helpers/product-process.js';
import { until } from '../../helpers/poll.js';
import { scratchDir } from '../../helpers/scratch.js';
import { mongoUrl as sharedMongoUrl, uniqueName } from '../../helpers/services.js';
import { makeKeys, spawnNode } from '../../helpers/signal-cluster.js';
import { startStripeFaultProxy, type StripeFaultProxy } from '../../helpers/stripe-fault-proxy.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { SignalClient } from '../../helpers/ws-client.js';
import { spawnRedis, type SpawnedRedis } from '../../../shared/runtime/redis-server.js';
import { call, makeGuest, makeHost, type Actor } from '../users/fixtures.js';

export const RATE = 300;
export const FEE_BPS = 1000;
export const FEE = Math.floor((RATE * FEE_BPS) / 10000);

export type SignalProcess = ProductProcess & { url: string };

/**
 * The whole product as separate processes, each of which a test may kill, drain or restart: an
 * API process (its billing worker included), signal node processes, a private Redis (restartable
 * on its port), stripe-mock behind the fault proxy (which also counts Stripe requests), on one
 * database. `t` is what the user fixtures need; its `url` follows API restarts.
 */
export interface ChaosCluster {
  t: TestApi;
  db: Db;
  /** REDIS_PREFIX of every process. */
  prefix: string;
  tickMs: number;
  mock: StripeMock;
  proxy: StripeFaultProxy;
  redis: SpawnedRedis;
  api: ProductProcess;
  nodes: Map<string, SignalProcess>;
  startNode(id: string): Promise<SignalProcess>;
  /** Stops the API process with `signal` (default SIGKILL) and waits for its exit. */
  stopApi(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new API process on the same database (after `stopApi`). */
  startApi(): Promise<void>;
  /** Stops Redis, runs `between`, starts it again on the same port (empty: no persistence). */
  restartRedis(between?: () => Promise<void>): Promise<void>;
  ledger: LedgerService;
  stop(): Promise<void>;
}

export interface ChaosOptions {
  tickMs: number;
  /** A database server of the test's own (to stop it); the suite's shared one otherwise. */
  mongoUrl?: string;
  apiEnv?: Record<string, string>;
  nodeEnv?: Record<string, string>;
}

export async function startChaosCluster(options: ChaosOptions): Promise<ChaosCluster> {
  const mongoUrl = options.mongoUrl ?? sharedMongoUrl();
  const database = uniqueName('chaos');
  const prefix = uniqueName('chaos');
  const keys = makeKeys();
  const dataDir = scratchDir('vidivo-chaos');
  const client = new MongoClient(mongoUrl);
  await client.connect();
  const db = client.db(database);
  const mock = await startStripeMock();
  const proxy = await startStripeFaultProxy(mock.url);
  let redis = await spawnRedis();
  const redisPort = Number(new URL(redis.url).port);
  const common = {
    MONGO_URL: mongoUrl, MONGO_DB: database, REDIS_URL: redis.url, REDIS_PREFIX: prefix, JWT_KEYS_DIR: keys.dir, DATA_DIR: dataDir,
    LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '5000',
  };
  const apiEnv = {
    ...common, STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: proxy.url, STRIPE_TIMEOUT_MS: '3000', STRIPE_MAX_NETWORK_RETRIES: '0',
    PLATFORM_FEE_BPS: String(FEE_BPS), BILLING_HOLD_MINUTES: '3', BILLING_EXTEND_AT_MINUTES: '1', BILLING_POLL_MS: '100',
    BILLING_SETTLE_DELAY_MS: '500', EARNINGS_HOLD_DAYS: '0', ...options.apiEnv,
  };
  const nodeEnv = {
    ...common, SIGNAL_TICK_MS: String(options.tickMs), SIGNAL_HEARTBEAT_MS: '200', SIGNAL_NODE_TTL_MS: '800', SIGNAL_SWEEP_MS: '100',
    SIGNAL_RECONNECT_GRACE_MS: '20000', ...options.nodeEnv,
  };
  const config = testConfig({ ...common, LOG_LEVEL: 'silent' });
  const startApiProcess = () => startProductProcess('api', apiEnv);
  let apiProc = await startApiProcess();
  const nodes = new Map<string, SignalProcess>();
  const t = {
    get url() { return `http://127.0.0.1:${apiProc.apiPort}`; },
    config, db, keyRing: keys.ring,
    api: { port: 0, close: async () => undefined, routes: [] },
    stop: async () => undefined,
  } as unknown as TestApi;
  const cluster: ChaosCluster = {
    t, db, prefix, tickMs: options.tickMs, mock, proxy,
    get redis() { return redis; },
    get api() { return apiProc; },
    nodes,
    ledger: new LedgerService(new LedgerRepository(db)),
    async startNode(id) {
      const node = await spawnNode({ ...nodeEnv, NODE_ID: id });
      nodes.set(id, node);
      return node;
    },
    async stopApi(signal = 'SIGKILL') {
      apiProc.kill(signal);
      await apiProc.exited;
    },
    async startApi() {
      apiProc = await startApiProcess();
    },
    async restartRedis(between) {
      await redis.stop();
      await between?.();
      redis = await spawnRedis(redisPort);
    },
    async stop() {
      for (const n of nodes.values()) if (n.child.exitCode === null && n.child.signalCode === null) n.kill('SIGKILL');
      if (apiProc.child.exitCode === null && apiProc.child.signalCode === null) apiProc.kill('SIGKILL');
      await Promise.all([...nodes.values()].map((n) => n.exited));
      await apiProc.exited;
      await db.dropDatabase().catch(() => undefined);
      await client.close();
      await redis.stop();
      await proxy.close();
      await mock.stop();
    },
  };
  return cluster;
}

export interface PaidCall {
  callId: string;
  host: Actor;
  guestId: string;
  /** The peers' sockets; replaced when a test reconnects one. */
  clients: { host: SignalClient; guest: SignalClient };
  tokens: { host: string; guest: string };
}

/**
 * Starts a paid call the way clients do, and returns once it is billable: a host with RATE, a
 * guest joining the link over HTTP with a card (the hold), the host taking it, both peers on
 * WebSocket (host on `hostNode`, guest on `guestNode`), the call `active`. The one place that
 * knows what makes the clock run (when billing starts at a `media-state` report, it is sent here).
 */
export async function startPaidCall(c: ChaosCluster, hostNode: SignalProcess, guestNode: SignalProcess): Promise<PaidCall> {
  const host = await makeHost(c.t, { rate: { amount: RATE, currency: 'USD' } });
  const link = await call(c.t, 'POST', '/v1/calls/links', { token: host.token, body: {} });
  expect(link.status).toBe(201);
  const guest = await makeGuest(c.t);
  const joined = await call(c.t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token, body: { payment_method_id: 'pm_card_visa' } });
  expect(joined.status).toBe(201);
  const callId = joined.body.data.call.id as string;
  const grant = await call(c.t, 'POST', `/v1/calls/${callId}/host-join`, { token: host.token });
  expect(grant.status).toBe(200);
  const tokens = { guest: joined.body.data.signaling.token as string, host: grant.body.data.signaling.token as string };
  const g = await SignalClient.connect(guestNode.url, tokens.guest);
  const h = await SignalClient.connect(hostNode.url, tokens.host);
  await Promise.all([g.join(), h.join()]);
  await Promise.all([g, h].map((p) => p.waitType('call-state', 10000, (f) => f.data.status === 'active')));
  // Both report media up as real clients do: the billing clock starts here.
  await Promise.all([g, h].map((p) => p.request('media-state', { state: 'connected' })));
  return { callId, host, guestId: guest.id, clients: { host: h, guest: g }, tokens };
}

/** Reconnects `peer` on `node` and resumes its session (`join` with its last seq). */
export async function resume(p: PaidCall, peer: 'host' | 'guest', node: SignalProcess): Promise<void> {
  const old = p.clients[peer];
  const back = await SignalClient.connect(node.url, p.tokens[peer]);
  const reply = await back.join(old.lastSeq);
  expect(reply.data).toMatchObject({ resumed: true, call: { status: 'active' } });
  old.kill();
  p.clients[peer] = back;
}

/** Waits until minute `n` of the call is in the minute store (written by the node that emitted it). */
export async function minuteRecorded(c: ChaosCluster, callId: string, n: number, timeoutMs = 20000): Promise<void> {
  await until(() => c.db.collection('minute_ticks').findOne({ _id: `${callId}:${n}` as never }), timeoutMs, `minute ${n} of ${callId} recorded`);
}

/**
 * Hangs up from the host's socket (the signal tier ends the call; no API needed), runs
 * `afterHangup`, and waits until the payment is settled and the earning released.
 */
export async function hangupAndSettle(c: ChaosCluster, p: PaidCall, afterHangup?: () => Promise<void>): Promise<void> {
  const reply = await until(async () => {
    const r = await p.clients.host.request('hangup');
    return r.type === 'ack' ? r : null;
  }, 15000, 'hangup acknowledged', 200);
  expect(reply.type).toBe('ack');
  await afterHangup?.();
  await until(async () => {
    const pay = await c.db.collection('payments').findOne({ call_id: p.callId });
    return pay?.state === 'settled' && pay.released_at ? pay : null;
  }, 30000, `payment of ${p.callId} settled and released`, 100);
}

/** What a finished paid call amounts to, without its ids: equal for equal minutes however the call went. */
export interface CallTotals {
  /** Whole periods between `active` and the end: the minutes the guest was connected for. */
  elapsedMinutes: number;
  billed: number;
  /** Minutes recorded but not billed, by reason; `after_end` (a tick past the hangup) is left out, it is never billable. */
  notBilled: Record<string, number>;
  payment: { billed_minutes: number; billed_minor: number; captured_minor: number; net_minor: number; written_off_minor: number };
  /** The call's ledger, summed per account role. */
  ledger: Record<string, number>;
  /** `minute` transactions in the ledger. */
  minuteRows: number;
}

export async function callTotals(c: ChaosCluster, p: PaidCall): Promise<CallTotals> {
  const callDoc = await c.db.collection('calls').findOne({ _id: p.callId as never });
  const answered = (callDoc?.answered_at as Date).getTime();
  const ended = (callDoc?.ended_at as Date).getTime();
  const outcomes = await c.db.collection('billed_minutes').find({ call_id: p.callId }).toArray();
  const notBilled: Record<string, number> = {};
  for (const o of outcomes) if (o.status !== 'billed' && o.status !== 'after_end') notBilled[o.status] = (notBilled[o.status] ?? 0) + 1;
  const pay = await c.db.collection('payments').findOne({ call_id: p.callId });
  const { items } = await c.ledger.entries({ callId: p.callId, skip: 0, limit: 1000 });
  const roles: Record<string, number> = {};
  for (const tx of items) {
    for (const posting of tx.postings) {
      const role = posting.account.replace(p.host.user.id, '<host>').replace(p.guestId, '<guest>');
      roles[role] = (roles[role] ?? 0) + posting.amount_minor;
    }
  }
  return {
    elapsedMinutes: Math.floor((ended - answered) / c.tickMs),
    billed: outcomes.filter((o) => o.status === 'billed').length,
    notBilled,
    payment: {
      billed_minutes: pay?.billed_minutes, billed_minor: pay?.billed_minor, captured_minor: pay?.captured_minor,
      net_minor: pay?.net_minor, written_off_minor: pay?.written_off_minor,
    },
    ledger: roles,
    minuteRows: items.filter((tx) => tx.kind === 'minute').length,
  };
}

/** The totals of a call of exactly `n` billed minutes at RATE (docs/payments.md): what every scenario must end with. */
export function expectedTotals(n: number): CallTotals {
  return {
    elapsedMinutes: n, billed: n, notBilled: {},
    payment: { billed_minutes: n, billed_minor: n * RATE, captured_minor: n * RATE, net_minor: n * (RATE - FEE), written_off_minor: 0 },
    ledger: {
      'guest:<guest>': 0, 'host:<host>:pending': 0, 'host:<host>:available': -n * (RATE - FEE), 'platform:fees': -n * FEE, 'stripe:clearing': n * RATE,
    },
    minuteRows: n,
  };
}
