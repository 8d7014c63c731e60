import type { FundingSource, MinuteSink } from '../../shared/billing/index.js';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { MongoCallStore, type Call, type CallStore, type Peer } from '../../shared/calls/index.js';
import { newId } from '../../shared/ids.js';
import { createLogger } from '../../shared/runtime/logger.js';
import { generateKeyFile, loadKeyRing, signToken, type KeyRing } from '../../shared/tokens/index.js';
import { startSignal, type SignalNode } from '../../signal/main.js';
import { testConfig } from './config.js';
import { startProductProcess, type ProductProcess } from './product-process.js';
import { scratchDir } from './scratch.js';

export const ISSUER = 'api.vidivo.app';

/** A key folder (for spawned nodes) and its ring (to mint tokens in the test). */
export function makeKeys(): { dir: string; ring: KeyRing } {
  const dir = join(scratchDir('vidivo-signal-keys'), 'keys');
  generateKeyFile(dir);
  return { dir, ring: loadKeyRing(dir, { generateIfEmpty: false }) };
}

/** Inserts a fresh 1:1 call (status `waiting` unless given) the way the calls API would. */
export async function createCall(store: MongoCallStore, overrides: Partial<Call> = {}): Promise<Call> {
  const at = new Date();
  return store.create({
    id: newId(), link_id: newId(), short_code: newId().slice(-8), host_id: `u_host_${newId()}`, guest_id: `u_guest_${newId()}`, guest_role: 'user',
    status: 'waiting', end_reason: null, rate: { amount: 100, currency: 'usd' }, max_duration_sec: null,
    created_at: at, ringing_at: null, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: at, version: 0, ...overrides,
  });
}

/** Mints the signaling token the calls API would hand to `peer` of `call`. */
export async function peerToken(ring: KeyRing, call: Call, peer: Peer, options: { ttlSec?: number; now?: number; sub?: string; callId?: string } = {}): Promise<string> {
  const sub = options.sub ?? (peer === 'host' ? call.host_id : call.guest_id);
  const { token } = await signToken(ring, { role: peer === 'host' ? 'host' : 'user', call_id: options.callId ?? call.id, peer }, {
    issuer: ISSUER, audience: 'signal', subject: sub, ttlSec: options.ttlSec ?? 300, ...(options.now !== undefined ? { now: options.now } : {}),
  });
  return token;
}

/**
 * A signal node running inside the test process (fast; for single-node behaviour). `wrapStore`
 * may put a decorator around the real call store the node uses; `store` is the real one.
 */
export async function startLocalNode(options: {
  db: Db; ring: KeyRing; env?: Record<string, string>; wrapStore?: (store: MongoCallStore) => CallStore; minutes?: MinuteSink; funding?: FundingSource;
}): Promise<{ node: SignalNode; url: string; store: MongoCallStore }> {
  const config = testConfig({ STUN_URLS: '[]', ...options.env });
  const log = createLogger({ level: config.logLevel });
  const store = new MongoCallStore(options.db);
  const ring = options.ring;
  const calls = options.wrapStore ? options.wrapStore(store) : store;
  const node = await startSignal({ config, log, keys: { jwks: () => ring.jwks() }, calls, defaultMetrics: false, ...(options.minutes ? { minutes: options.minutes } : {}), ...(options.funding ? { funding: options.funding } : {}) });
  return { node, url: `ws://127.0.0.1:${node.port}`, store };
}

/** A signal node as its own OS process (`node dist/scripts/cli.js signal`). */
export async function spawnNode(env: Record<string, string>, options: { openFilesLimit?: number } = {}): Promise<ProductProcess & { url: string }> {
  const proc = await startProductProcess('signal', { STUN_URLS: '[]', SHUTDOWN_TIMEOUT_MS: '5000', ...env }, 60000, options);
  return Object.assign(proc, { url: `ws://127.0.0.1:${proc.signalPort}` });
}

/** A node's answer to `GET /ready`: its HTTP status and JSON body. */
export async function readiness(port: number): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: res.status, body: await res.json() };
}

export { until } from './poll.js';
