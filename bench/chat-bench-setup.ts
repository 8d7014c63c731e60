import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { newId } from '../shared/ids.js';
import { connectMongo } from '../shared/runtime/mongo/connect.js';
import { resolveMongo } from '../shared/runtime/mongo/resolve.js';
import { spawnRedis } from '../shared/runtime/redis-server.js';
import { generateKeyFile, loadKeyRing, signToken, type KeyRing } from '../shared/tokens/index.js';
import { createScratchPostgres } from '../test/helpers/postgres.js';
import { startProductProcess, type ProductProcess } from '../test/helpers/product-process.js';
import { SignalClient } from '../test/helpers/ws-client.js';

export const ISSUER = 'api.vidivo.app';

/** The processes and stores of one chat bench run; `stop()` removes them all. */
export interface ChatRig {
  db: Db;
  database: string;
  ring: KeyRing;
  prefix: string;
  redisUrl: string;
  /** ws://… of each signal node. */
  nodes: string[];
  source: string;
  stop(): Promise<void>;
}

/**
 * FerretDB on a scratch PostgreSQL database (or MONGO_URL), a redis-server (or REDIS_URL), a key
 * folder, `nodeCount` signal node processes and one API process (its broadcast job), all with
 * chat on the same database and Redis.
 */
export async function startRig(nodeCount: number, nodeEnv: Record<string, string>): Promise<ChatRig> {
  const cleanups: Array<() => unknown> = [];
  const stop = async () => { for (const run of cleanups.reverse()) await Promise.resolve().then(run).catch(() => undefined); };
  try {
    const scratch = process.env.MONGO_URL ? undefined : createScratchPostgres();
    if (scratch) cleanups.push(() => scratch.drop());
    const mongo = await resolveMongo({ url: process.env.MONGO_URL, dataDir: '.data/bench', ephemeral: true, ferretPostgresUrl: scratch?.url });
    cleanups.push(() => mongo.stop());
    const database = `chatbench_${newId().toLowerCase()}`;
    const handle = await connectMongo(mongo.url, database, 30000);
    cleanups.push(async () => { await handle.db.dropDatabase().catch(() => undefined); await handle.close(); });
    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      const spawned = await spawnRedis();
      cleanups.push(() => spawned.stop());
      redisUrl = spawned.url;
    }
    const work = mkdtempSync(join(tmpdir(), 'vidivo-chat-bench-'));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const keysDir = join(work, 'keys');
    generateKeyFile(keysDir);
    const prefix = `chatbench${newId().slice(-8).toLowerCase()}`;
    const env = {
      MONGO_URL: mongo.url, MONGO_DB: database, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, JWT_KEYS_DIR: keysDir, LOG_LEVEL: 'info',
      STUN_URLS: '[]', SHUTDOWN_TIMEOUT_MS: '5000', NODE_ENV: 'production', ...nodeEnv,
    };
    const procs: ProductProcess[] = [];
    cleanups.push(async () => {
      for (const p of procs) p.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.exited));
    });
    for (let i = 0; i < nodeCount; i++) procs.push(await startProductProcess('signal', { ...env, NODE_ID: `chatbench-${i}` }, 120000));
    procs.push(await startProductProcess('api', { ...env, NODE_ID: 'chatbench-api' }, 120000));
    return {
      db: handle.db, database, ring: loadKeyRing(keysDir, { generateIfEmpty: false }), prefix, redisUrl, source: `${mongo.source}${scratch ? ' (PostgreSQL backend)' : ''}`,
      nodes: procs.filter((p) => p.signalPort).map((p) => `ws://127.0.0.1:${p.signalPort}`), stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A chat socket of `user` on `node`, past `ready` and an empty `resume`. */
export async function chatSocket(rig: ChatRig, node: string, user: string, resume: Record<string, number> | null = {}): Promise<SignalClient> {
  const { token } = await signToken(rig.ring, { role: 'user' }, { issuer: ISSUER, audience: 'api', subject: user, ttlSec: 3600 });
  // Frames are kept until `ready` (it may come in the same read as the upgrade), then dropped.
  const client = await SignalClient.connect(node, token, { path: '/v1/chat/ws' });
  await client.waitType('ready', 30000);
  client.keepFrames(false);
  if (resume === null) return client;
  const ack = await client.request('resume', { conversations: resume }, 30000);
  if (ack.type !== 'ack') throw new Error(`resume refused: ${JSON.stringify(ack)}`);
  return client;
}

/** Runs `job(i)` for i < count with at most `parallel` at once. */
export async function pool(count: number, parallel: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) await job(next++);
  }));
}

/** Percentile `p` (0–100) of `values`, 0 when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** {n, p50, p99, max} of latencies in ms, rounded to 0.1. */
export function summary(values: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  const round = (n: number) => Math.round(n * 10) / 10;
  return { n: values.length, p50: round(percentile(values, 50)), p99: round(percentile(values, 99)), max: round(percentile(values, 100)) };
}
