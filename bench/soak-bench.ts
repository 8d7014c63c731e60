import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MongoCallStore, type Call, type Peer } from '../shared/calls/index.js';
import { newId } from '../shared/ids.js';
import { connectMongo } from '../shared/runtime/mongo/connect.js';
import { resolveMongo } from '../shared/runtime/mongo/resolve.js';
import { freePort, waitForPort } from '../shared/runtime/net.js';
import { PROJECT_ROOT } from '../shared/runtime/paths.js';
import { spawnRedis } from '../shared/runtime/redis-server.js';
import { generateKeyFile, loadKeyRing, signToken, type KeyRing } from '../shared/tokens/index.js';
import { createScratchPostgres } from '../test/helpers/postgres.js';
import { SignalClient } from '../test/helpers/ws-client.js';
import { Inspector, summarizeSnapshot } from './inspector.js';
import { openFds, rssKiB } from './proc-stats.js';

const USAGE = `Usage: node dist/bench/soak-bench.js [options]

Soak of one signal node (its own process, started with --inspect): --calls calls are set up
(connect, join, active), relay --frames frames each way and end, --cycles times: a third hang up,
a third vanish (both sockets drop; the node ends the call after its reconnect grace, 2 s here), a
third resume the guest on a new socket and then hang up. After
each cycle, with no socket left, the node's JS heap is read after a forced full GC (inspector),
with its RSS and open descriptors. A node that keeps nothing once its calls end stays flat.

  --calls N         calls per cycle (default 200)
  --cycles M        cycles (default 10)
  --frames F        relayed frames each way per call (default 10)
  --redis           give the node a Redis (REDIS_URL, else a spawned redis-server): the multi-node code paths
  --snapshots DIR   write a heap-snapshot summary after the first and the last cycle, and their difference
  --max-growth-kib K  exit 1 when the heap after the last cycle exceeds the one after the first by more than K KiB
  --json            one JSON object on stdout`;

/** The node's reconnect grace (short, so dropped calls end within the cycle). */
const GRACE_MS = 2000;

interface Cycle { cycle: number; heap_used_kib: number; rss_kib: number; fds: number; sockets: number; calls_held: number; failed_calls: number; setup_ms: number }

/** Sockets open and calls held on the node, from its /metrics. */
async function held(port: number): Promise<{ sockets: number; calls: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (name: string): number => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
  return { sockets: sum('signal_sockets'), calls: sum('signal_calls') };
}

async function mint(ring: KeyRing, call: Call, peer: Peer): Promise<string> {
  const sub = peer === 'host' ? call.host_id : call.guest_id;
  return (await signToken(ring, { role: peer === 'host' ? 'host' : 'user', call_id: call.id, peer }, { issuer: 'api.vidivo.app', audience: 'signal', subject: sub, ttlSec: 600 })).token;
}

async function newCall(store: MongoCallStore): Promise<Call> {
  const at = new Date();
  return store.create({
    id: newId(), link_id: newId(), short_code: newId().slice(-8), host_id: `u_host_${newId()}`, guest_id: `u_guest_${newId()}`, guest_role: 'user',
    status: 'waiting', end_reason: null, rate: { amount: 100, currency: 'usd' }, max_duration_sec: null,
    created_at: at, ringing_at: null, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: at, version: 0,
  });
}

/** How a call ends: `hangup`; `drop` (both sockets vanish: the node ends it after the reconnect grace); `resume` (the guest drops and resumes, then hangup). */
type Ending = 'hangup' | 'drop' | 'resume';
const ENDINGS: Ending[] = ['hangup', 'drop', 'resume'];

/** One call's life: both peers join, relay `frames` each way, then it ends as `ending` says. */
async function oneCall(url: string, ring: KeyRing, store: MongoCallStore, frames: number, ending: Ending): Promise<void> {
  const call = await newCall(store);
  const guestToken = await mint(ring, call, 'guest');
  const host = await SignalClient.connect(url, await mint(ring, call, 'host'), { keep: false });
  let guest = await SignalClient.connect(url, guestToken, { keep: false });
  try {
    await host.join();
    const active = guest.next((f) => f.type === 'call-state' && f.data.status === 'active', 30000);
    active.catch(() => undefined);
    await guest.join();
    await active;
    for (const [from, to] of [[host, guest], [guest, host]] as const) {
      let got = 0;
      const all = new Promise<void>((resolve) => { to.onFrame = (f) => { if (f.type === 'ice-candidate' && (got += 1) === frames) resolve(); }; });
      for (let i = 0; i < frames; i += 1) from.send({ type: 'ice-candidate', data: { candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 9 typ host`, sdpMid: '0', sdpMLineIndex: 0 } } });
      await Promise.race([all, sleep(30000).then(() => { throw new Error('relay timed out'); })]);
    }
    if (ending === 'drop') return;
    if (ending === 'resume') {
      const seen = guest.lastSeq;
      guest.kill();
      guest = await SignalClient.connect(url, guestToken, { keep: false });
      await guest.join(seen);
    }
    await host.request('hangup', {}, 30000);
    await Promise.all([host.closed, guest.closed]);
  } finally {
    host.kill();
    guest.kill();
  }
}

async function runPool(count: number, parallel: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) {
      next += 1;
      await job(next);
    }
  }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '200' }, cycles: { type: 'string', default: '10' }, frames: { type: 'string', default: '10' },
      redis: { type: 'boolean' }, snapshots: { type: 'string' }, 'max-growth-kib': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  const calls = Number(values.calls);
  const cycles = Number(values.cycles);
  const frames = Number(values.frames);
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const scratch = process.env.MONGO_URL || process.env.FERRETDB_POSTGRESQL_URL ? undefined : createScratchPostgres();
    if (scratch) cleanups.push(() => scratch.drop());
    const mongo = await resolveMongo({ url: process.env.MONGO_URL, dataDir: '.data/bench', ephemeral: true, ferretPostgresUrl: process.env.FERRETDB_POSTGRESQL_URL ?? scratch?.url });
    cleanups.push(() => mongo.stop());
    const database = `soak_${newId().toLowerCase()}`;
    const handle = await connectMongo(mongo.url, database);
    cleanups.push(async () => { await handle.db.dropDatabase().catch(() => undefined); await handle.close(); });
    const store = new MongoCallStore(handle.db);
    let redisUrl: string | undefined;
    if (values.redis) {
      redisUrl = process.env.REDIS_URL;
      if (!redisUrl) {
        const spawned = await spawnRedis();
        cleanups.push(() => spawned.stop());
        redisUrl = spawned.url;
      }
    }
    const keysDir = join(mkdtempSync(join(tmpdir(), 'vidivo-soak-')), 'keys');
    generateKeyFile(keysDir);
    const ring = loadKeyRing(keysDir, { generateIfEmpty: false });

    const port = await freePort();
    const inspectPort = await freePort();
    const logFile = join(tmpdir(), `vidivo-soak-${port}.log`);
    const fd = openSync(logFile, 'w');
    const child = spawn(process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, join(PROJECT_ROOT, 'dist', 'scripts', 'cli.js'), 'signal'], {
      cwd: PROJECT_ROOT, stdio: ['ignore', fd, fd],
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', LOG_LEVEL: 'warn', STUN_URLS: '[]',
        MONGO_URL: mongo.url, MONGO_DB: database, JWT_KEYS_DIR: keysDir, SIGNAL_PORT: String(port), NODE_ID: `soak-${port}`,
        REDIS_PREFIX: `soak${port}`, SIGNAL_RECONNECT_GRACE_MS: String(GRACE_MS), ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      },
    });
    closeSync(fd);
    cleanups.push(async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); });
    await waitForPort('127.0.0.1', port, 60000);
    const inspector = await Inspector.connect(inspectPort);
    cleanups.push(() => inspector.close());
    const url = `ws://127.0.0.1:${port}`;
    const pid = child.pid!;

    const start = await inspector.heapAfterGc();
    const results: Cycle[] = [];
    let firstSummary: ReturnType<typeof summarizeSnapshot> | undefined;
    process.stderr.write(`soak: ${calls} calls x ${cycles} cycles; heap after GC at start ${Math.round(start.usedBytes / 1024)} KiB, rss ${rssKiB(pid)} KiB (node log ${logFile})\n`);
    for (let cycle = 1; cycle <= cycles; cycle += 1) {
      const began = performance.now();
      let failed = 0;
      await runPool(calls, 50, (i) => oneCall(url, ring, store, frames, ENDINGS[i % ENDINGS.length]!).catch((err: unknown) => {
        // A loaded machine may miss a deadline (join timeout); the call's sockets are closed all the same.
        failed += 1;
        if (failed === 1) process.stderr.write(`cycle ${cycle}: a call failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }));
      const setupMs = Math.round(performance.now() - began);
      // Past the reconnect grace of dropped calls, the replay flush and sweeps: what is left is what the node keeps.
      await sleep(GRACE_MS + 3000);
      const heap = await inspector.heapAfterGc();
      const left = await held(port);
      const row = { cycle, heap_used_kib: Math.round(heap.usedBytes / 1024), rss_kib: rssKiB(pid), fds: openFds(pid), sockets: left.sockets, calls_held: left.calls, failed_calls: failed, setup_ms: setupMs };
      results.push(row);
      process.stderr.write(`cycle ${cycle}: heap ${row.heap_used_kib} KiB, rss ${row.rss_kib} KiB, fds ${row.fds}, sockets ${row.sockets}, calls held ${row.calls_held}, failed calls ${failed}, ${setupMs} ms\n`);
      if (values.snapshots && (cycle === 1 || cycle === cycles)) {
        const summary = summarizeSnapshot(await inspector.heapSnapshot());
        if (cycle === 1) firstSummary = summary;
        else writeSnapshotDiff(values.snapshots, firstSummary!, summary);
      }
    }
    const growthKib = results.at(-1)!.heap_used_kib - results[0]!.heap_used_kib;
    const report = { calls, cycles, frames, redis: Boolean(redisUrl), heap_at_start_kib: Math.round(start.usedBytes / 1024), growth_after_first_cycle_kib: growthKib, cycles_detail: results };
    process.stderr.write(`heap growth from cycle 1 to ${cycles}: ${growthKib} KiB (${(growthKib / Math.max(1, cycles - 1)).toFixed(1)} KiB per cycle of ${calls} calls)\n`);
    if (values.json) console.log(JSON.stringify(report));
    const limit = values['max-growth-kib'] === undefined ? undefined : Number(values['max-growth-kib']);
    if (limit !== undefined && growthKib > limit) process.exitCode = 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
  }
}

function writeSnapshotDiff(dir: string, first: Map<string, { count: number; bytes: number }>, last: Map<string, { count: number; bytes: number }>): void {
  const rows = [...last].map(([name, v]) => ({ name, count: v.count - (first.get(name)?.count ?? 0), bytes: v.bytes - (first.get(name)?.bytes ?? 0) }))
    .filter((r) => r.count !== 0 || r.bytes !== 0).sort((a, b) => b.bytes - a.bytes);
  const file = join(dir, `soak-heap-diff-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(rows.slice(0, 200), null, 1));
  process.stderr.write(`heap snapshot difference (last - first cycle): ${file}\n${rows.slice(0, 15).map((r) => `  ${r.name}: ${r.count} objects, ${r.bytes} bytes`).join('\n')}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
