import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { CallsRepository } from '../api/repositories/calls.js';
import { Histogram, percentiles, type HistogramData } from '../scripts/loadtest/histogram.js';
import { RedisCallCache, type CallStatus } from '../shared/calls/index.js';
import { newId } from '../shared/ids.js';
import { connectMongo } from '../shared/runtime/mongo/connect.js';
import { resolveMongo } from '../shared/runtime/mongo/resolve.js';
import { freePort, waitForPort } from '../shared/runtime/net.js';
import { PROJECT_ROOT } from '../shared/runtime/paths.js';
import { generateKeyFile, loadKeyRing, signToken } from '../shared/tokens/index.js';
import { createScratchPostgres } from '../test/helpers/postgres.js';
import { addIdIndexes, redisServerPid, resolveRedis } from './bench-services.js';
import type { JoinSlot, JoinWorkerResult, ToJoinWorker } from './join-bench-worker.js';
import { childrenNamed, cpuSeconds, postgresBackends } from './proc-stats.js';
import { deleteKeys } from './redis-keys.js';

const USAGE = `Usage: node dist/bench/join-bench.js [options]

Call setup on one signal node: calls created as the API creates them (CallsRepository: the store,
and the call cache the API writes), then both peers of every call open a socket and join at a fixed
rate. Reports socket-open → joined (the join ack) p50/p99/max, the node's CPU, the load average.

  --rate R          joins per second, both peers of each call in turn (default 400)
  --sec S           how long joins are opened (default 20); calls = R × S / 2
  --status ringing|waiting
                    the calls' status when created (default ringing: the host was online)
  --workers K       client processes (default 2)
  --pg-pool N       FerretDB's PostgreSQL pool (pool_max_conns; default 50, FerretDB's own); the node's
                    MongoDB pool is 40 % of it. The local PostgreSQL server is shared: where other work
                    holds its connections, run one of your own and name it with TEST_PG_PORT
  --node-dist DIR   the build the node runs from (default this one's dist/): run main's build
                    against the same bench for a before/after comparison
  --json            one JSON object on stdout

Database: FerretDB on a scratch PostgreSQL database (as bench:signal), or MONGO_URL. Redis:
REDIS_URL, else 127.0.0.1:6379, else a spawned redis-server; keys under a unique prefix, deleted at the end.`;

const WORKER = join(fileURLToPath(new URL('.', import.meta.url)), 'join-bench-worker.js');
const ISSUER = 'api.vidivo.app';
const CREATE_CONCURRENCY = 8;
/**
 * The node's MongoDB pool as a share of FerretDB's PostgreSQL pool: an update holds one
 * PostgreSQL connection and waits for a second (FerretDB 1.24; see bench:signal), so more updates
 * at once than half the pool deadlock it (measured here: 40 of 50 at 400 joins/s stalled every
 * activation).
 */
const NODE_POOL_SHARE = 0.4;
const BENCH_MONGO_POOL = CREATE_CONCURRENCY;

interface Options {
  rate: number;
  sec: number;
  status: CallStatus;
  workers: number;
  pgPool: number;
  nodeDist: string;
  json: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '400' },
      sec: { type: 'string', default: '20' },
      status: { type: 'string', default: 'ringing' },
      workers: { type: 'string', default: '2' },
      'pg-pool': { type: 'string', default: '50' },
      'node-dist': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const rate = Number(values.rate);
  const sec = Number(values.sec);
  const workers = Number(values.workers);
  const pgPool = Number(values['pg-pool']);
  if (!(rate > 0 && sec > 0 && workers >= 1 && pgPool >= 4) || !['ringing', 'waiting'].includes(values.status)) {
    process.stderr.write(`bad options\n\n${USAGE}\n`);
    process.exit(2);
  }
  return { rate, sec, status: values.status as CallStatus, workers, pgPool, nodeDist: resolve(values['node-dist'] ?? join(PROJECT_ROOT, 'dist')), json: values.json };
}

function log(line: string): void {
  process.stderr.write(`[join-bench] ${line}\n`);
}

function ms(data: HistogramData[]): Record<string, number | null> {
  const h = new Histogram();
  for (const d of data) h.merge(d);
  const p = percentiles(h);
  const r = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);
  return { count: p.count, p50: r(p.p50), p90: r(p.p90), p99: r(p.p99), p999: r(h.percentile(0.999)), max: r(p.max) };
}

async function startNode(nodeDist: string, env: Record<string, string>, logFile: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), join(nodeDist, 'scripts', 'cli.js'), 'signal'], {
    cwd: resolve(nodeDist, '..'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', LOG_LEVEL: 'warn', ...env, NODE_ID: 'join-bench', SIGNAL_PORT: String(port) },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`node exited (${code}); see ${logFile}`))));
  exited.catch(() => undefined);
  await Promise.race([waitForPort('127.0.0.1', port, 60000), exited]);
  const deadline = Date.now() + 30000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(5000) }).then((r) => r.json() as Promise<{ data?: { status?: string } }>).catch(() => undefined);
    if (ready?.data?.status === 'ready') return { child, port };
    if (Date.now() > deadline) throw new Error(`node not ready within 30 s: ${JSON.stringify(ready)}`);
    await sleep(200);
  }
}

async function stop(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(graceMs)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** `signal_join_call_lookups_total` by source from the node's /metrics (empty on a build without it). */
async function lookups(port: number): Promise<Record<string, number>> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => '');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^signal_join_call_lookups_total\{source="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const calls = Math.ceil((opts.rate * opts.sec) / 2);
  const cleanups: Array<{ name: string; run: () => unknown }> = [];
  const cleanup = async (): Promise<void> => {
    for (const { name, run } of cleanups.reverse()) {
      try {
        await Promise.race([Promise.resolve().then(run), sleep(30000)]);
      } catch (err) {
        log(`cleanup ${name} failed: ${(err as Error).message}`);
      }
    }
  };
  const watchdog = setTimeout(() => { log('whole run over its budget'); void cleanup().finally(() => process.exit(3)); }, (300 + opts.sec * 10) * 1000);
  watchdog.unref();
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  const report: Record<string, unknown> = { config: { rate: opts.rate, sec: opts.sec, calls, status: opts.status, workers: opts.workers, node_dist: opts.nodeDist } };
  try {
    const workDir = mkdtempSync(join(tmpdir(), 'vidivo-join-bench-'));
    cleanups.push({ name: 'work dir', run: () => rmSync(workDir, { recursive: true, force: true }) });
    const keysDir = join(workDir, 'keys');
    generateKeyFile(keysDir);
    const redisServer = await resolveRedis();
    if (redisServer.stop) cleanups.push({ name: 'redis-server', run: redisServer.stop });
    const prefix = `jb${newId().slice(-8).toLowerCase()}`;
    cleanups.push({ name: 'redis keys', run: () => deleteKeys(redisServer.url, prefix) });
    const scratch = process.env.MONGO_URL ? undefined : createScratchPostgres();
    if (scratch) cleanups.push({ name: 'scratch PostgreSQL database', run: () => scratch.drop() });
    const ferretPostgresUrl = scratch ? `${scratch.url}?pool_max_conns=${opts.pgPool}` : undefined;
    const nodePool = Math.max(2, Math.floor(opts.pgPool * NODE_POOL_SHARE));
    const mongo = await resolveMongo({ url: process.env.MONGO_URL, dataDir: '.data/bench', ephemeral: true, ferretPostgresUrl });
    cleanups.push({ name: 'database server', run: () => mongo.stop() });
    const database = `jb_${newId().toLowerCase()}`;
    const poolOf = (size: number): string => {
      const url = new URL(mongo.url);
      if (!url.searchParams.has('maxPoolSize')) url.searchParams.set('maxPoolSize', String(size));
      return url.toString();
    };
    const handle = await connectMongo(poolOf(BENCH_MONGO_POOL), database, 30000);
    cleanups.push({ name: 'database connection', run: () => handle.close() });
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    cleanups.push({ name: 'redis connection', run: () => redis.disconnect() });
    // The API's composition: the store, and the call cache it writes (ignored by a node that does not read it).
    const repo = new CallsRepository(handle.db, { writer: new RedisCallCache(redis, prefix), onFailure: (err) => log(`call cache write failed: ${String(err)}`) });
    await repo.ensureIndexes();
    // FerretDB creates a collection's table on its first write: the first activations, all at
    // once, would otherwise race to create the host claims' tables (and stall on PostgreSQL's locks).
    for (const name of ['host_claims', 'host_claim_heads', 'call_transitions']) await handle.db.createCollection(name).catch(() => undefined);
    if (scratch) addIdIndexes(scratch.url, database);
    report['database'] = `${mongo.source}${scratch ? ` on PostgreSQL ${new URL(scratch.url).port} (pool ${opts.pgPool}; node pool ${nodePool})` : ''}`;

    const node = await startNode(opts.nodeDist, {
      REDIS_URL: redisServer.url, REDIS_PREFIX: prefix, MONGO_URL: poolOf(nodePool), MONGO_DB: database, JWT_KEYS_DIR: keysDir,
      SIGNAL_IDLE_TIMEOUT_MS: '3600000', SIGNAL_JOIN_TIMEOUT_MS: '60000', STUN_URLS: '[]', SHUTDOWN_TIMEOUT_MS: '5000',
      ...Object.fromEntries((process.env.BENCH_NODE_ENV ?? '').split(' ').filter((p) => p.includes('=')).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)])),
    }, join(workDir, 'node.log'));
    cleanups.push({ name: 'signal node', run: () => stop(node.child, 8000) });
    cleanups.push({ name: 'node log', run: () => {
      const lines = readFileSync(join(workDir, 'node.log'), 'utf8').split('\n').filter(Boolean);
      if (lines.length > 0) log(`node logged ${lines.length} warn/error lines; last: ${lines.at(-1)!.slice(0, 300)}`);
    } });
    log(`database ${String(report['database'])}; redis ${redisServer.source}; node from ${opts.nodeDist}; ${calls} calls, ${opts.rate} joins/s for ${opts.sec} s`);

    const ring = loadKeyRing(keysDir, { generateIfEmpty: false });
    const slots: JoinSlot[] = new Array(calls * 2);
    const createdAt = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, async () => {
      for (let i = next++; i < calls; i = next++) {
        const at = new Date();
        const call = await repo.create({
          id: newId(), link_id: newId(), short_code: newId().slice(-8), host_id: `jb_h_${newId()}`, guest_id: `jb_g_${newId()}`, guest_role: 'user',
          status: opts.status, end_reason: null, rate: { amount: 100, currency: 'usd' }, max_duration_sec: null,
          created_at: at, ringing_at: opts.status === 'ringing' ? at : null, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: at, version: 0,
        });
        const mint = async (peer: 'host' | 'guest') => (await signToken(ring, { role: peer === 'host' ? 'host' : 'user', call_id: call.id, peer }, {
          issuer: ISSUER, audience: 'signal', subject: peer === 'host' ? call.host_id : call.guest_id, ttlSec: 3600,
        })).token;
        // The guest (who created the call) joins first, the host right after.
        slots[2 * i] = { slot: 2 * i, callId: call.id, peer: 'guest', token: await mint('guest') };
        slots[2 * i + 1] = { slot: 2 * i + 1, callId: call.id, peer: 'host', token: await mint('host') };
      }
    }));
    report['prepare_sec'] = Math.round((Date.now() - createdAt) / 100) / 10;
    log(`${calls} calls created in ${String(report['prepare_sec'])} s`);

    const workers = Array.from({ length: opts.workers }, () => fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }));
    cleanups.push({ name: 'workers', run: () => Promise.all(workers.map(async (w) => { if (w.connected) w.send({ kind: 'stop' } satisfies ToJoinWorker); await stop(w, 3000); })) });
    const pgDatabase = scratch ? new URL(scratch.url).pathname.slice(1) : undefined;
    const dbPids = (): number[] => [...childrenNamed(process.pid, 'ferretdb'), ...childrenNamed(process.pid, 'mongod'), ...(pgDatabase ? postgresBackends(pgDatabase) : [])];
    const redisPid = await redisServerPid(redisServer.url);
    const cpuOf = (pids: number[]): number => pids.reduce((s, pid) => s + (cpuSeconds(pid) || 0), 0);

    const t0 = Date.now() + 1000;
    const results = workers.map((w) => new Promise<JoinWorkerResult>((done, fail) => {
      w.once('message', (m: JoinWorkerResult) => done(m));
      w.once('exit', (code) => fail(new Error(`worker exited (${code})`)));
    }));
    workers.forEach((w, k) => w.send({
      kind: 'run', url: `ws://127.0.0.1:${node.port}`, t0, rate: opts.rate, joinTimeoutMs: 30000, activeTimeoutMs: 30000,
      // Whole calls per worker (both peers in one process), calls dealt round robin.
      slots: slots.filter((s) => Math.floor(s.slot / 2) % opts.workers === k),
    } satisfies ToJoinWorker));
    await sleep(Math.max(0, t0 - Date.now()));
    const load = { before: loadavg().map((n) => Math.round(n * 100) / 100) };
    const nodeCpu0 = cpuSeconds(node.child.pid!);
    const dbCpu0 = cpuOf(dbPids());
    const redisCpu0 = redisPid ? cpuSeconds(redisPid) : NaN;
    await sleep(opts.sec * 1000);
    const nodeCpu = cpuSeconds(node.child.pid!) - nodeCpu0;
    const dbCpu = cpuOf(dbPids()) - dbCpu0;
    const redisCpu = redisPid ? cpuSeconds(redisPid) - redisCpu0 : NaN;
    const done = await Promise.all(results);
    const loadAfter = loadavg().map((n) => Math.round(n * 100) / 100);

    const activeCalls = await handle.db.collection('calls').countDocuments({ status: 'active' });
    const activations = await handle.db.collection('call_transitions').countDocuments({ to: 'active' });
    const failures: Record<string, number> = {};
    for (const r of done) for (const [k, n] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + n;
    Object.assign(report, {
      open_to_joined_ms: ms(done.map((r) => r.openToJoined)),
      connect_ms: ms(done.map((r) => r.connect)),
      client_late_start_ms: ms(done.map((r) => r.lateStart)),
      joined: done.reduce((s, r) => s + r.joined, 0),
      saw_active: done.reduce((s, r) => s + r.sawActive, 0),
      failures,
      calls_active_in_store: activeCalls,
      activation_transitions: activations,
      node_cpu_share: Math.round((nodeCpu / opts.sec) * 1000) / 1000,
      database_cpu_share: Math.round((dbCpu / opts.sec) * 1000) / 1000,
      redis_cpu_share: Number.isNaN(redisCpu) ? null : Math.round((redisCpu / opts.sec) * 1000) / 1000,
      client_loop_delay_ms: { p99: Math.max(...done.map((r) => Math.round(r.loopDelayMs.p99 * 10) / 10)), max: Math.max(...done.map((r) => Math.round(r.loopDelayMs.max * 10) / 10)) },
      loadavg: { before: load.before, after: loadAfter },
      join_call_lookups: await lookups(node.port),
    });
    const j = report['open_to_joined_ms'] as Record<string, number>;
    log(`open→joined p50 ${j['p50']} ms, p99 ${j['p99']} ms, max ${j['max']} ms (${String(report['joined'])}/${calls * 2} joined, ${activeCalls} calls active, ${activations} activations); node CPU ${String(report['node_cpu_share'])}, database ${String(report['database_cpu_share'])}; load ${load.before.join(' ')} → ${loadAfter.join(' ')}`);
    if (Object.keys(failures).length > 0) log(`failures: ${JSON.stringify(failures)}`);
  } finally {
    await cleanup();
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error).stack}`);
  process.exit(1);
});
