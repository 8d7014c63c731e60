import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { Histogram, percentiles, type HistogramData } from '../scripts/loadtest/histogram.js';
import { MongoCallStore } from '../shared/calls/index.js';
import { newId } from '../shared/ids.js';
import { connectMongo } from '../shared/runtime/mongo/connect.js';
import { resolveMongo } from '../shared/runtime/mongo/resolve.js';
import { freePort, waitForPort } from '../shared/runtime/net.js';
import { PROJECT_ROOT } from '../shared/runtime/paths.js';
import { generateKeyFile } from '../shared/tokens/index.js';
import { createScratchPostgres } from '../test/helpers/postgres.js';
import { addIdIndexes, redisServerPid, resolveRedis } from './bench-services.js';
import { affinityOf, batchScheduled, cpuSplit, idleScheduled, niceOf, niced, pin, policyOf, setSlice, SLICE_MAX_US, SLICE_MIN_US, sliceOf } from './cpu-scheduling.js';
import { childrenNamed, commOf, cpuSeconds, fdLimit, machineCpu, openFds, postgresBackends, rssKiB, runQueueSeconds } from './proc-stats.js';
import { deleteKeys } from './redis-keys.js';
import { relayFrameKey, type FromWorker, type PhaseCommon, type PhaseName, type PhaseResults, type Reasons, type ToWorker, type WorkerInit } from './signal-bench-ipc.js';
import { startWireCapture, wireCaptureUnavailable, type WireCapture } from './wire-capture.js';
import { readWebSocketFrames } from './wire-frames.js';
import { WireRelayLatency } from './wire-relay.js';

const USAGE = `Usage: node dist/bench/signal-bench.js [options]

N concurrent 1:1 calls (2 sockets each) against 1 or 2 signal node processes. Client sockets live
in K worker processes (both peers of a call in one worker). Phases: prepare (calls in the store,
tokens) → setup (connect + join, ramped; RSS read at half and full load) → idle → signaling
(offer, answer, 10 candidates each way) → relay (rate-controlled) → pings → hangup.

  --calls N            concurrent calls (default 200; at most 9,900 on one node here: 20,000 fds per process;
                       bench/vm/run.sh runs more in a VM)
  --nodes 1|2          signal nodes; with 2, half the calls have their peers on different nodes
  --ramp R             calls set up (and signalled, hung up) per second (default 100)
  --relay-rate F       relayed frames per second, all calls together (default 5000)
  --relay-sec S        relay phase length (default 30)
  --ping-sec P         ping phase length (default 60)
  --ping-every-ms M    ping interval per socket (default 20000, the recommended client interval)
  --idle-sec I         idle time before each RSS reading, fresh / half / full load (default 30)
  --no-forced-gc       start the nodes without an inspector: RSS is then the lowest per-second sample of
                       each idle window instead of the RSS 2 s after a full GC asked for through it
  --workers K          client processes (default: enough for ≤ --sockets-per-worker each)
  --sockets-per-worker (default 8000)
  --retries N          reconnects per call when a socket fails before the call is active (default 2)
  --max-inflight M     call setups (and signalings, hangups) in flight at most, all workers together
                       (default 200): the ramp slows down to what the node and database sustain
  --no-id-index        leave FerretDB's PostgreSQL tables as they are (by default the bench adds a GIN
                       index on _id to its calls tables: FerretDB 1.24 filters _id with @>, which its
                       own btree index cannot serve, so every lookup scans the whole collection)
  --json               print one JSON object on stdout (the human summary goes to stderr)
  --log-dir DIR        keep the nodes' logs (stdout+stderr, LOG_LEVEL=warn) in DIR instead of a temporary folder
  --probe-calls P      calls (of the N) owned by one extra client process that does nothing else (default 10; 0: none)
  --probe-rate R       frames/s the probe process relays during the relay phase, part of --relay-rate (default 100):
                       its latency is the node's, free of the bulk workers' own event-loop delays
  --send-tick-ms T     in the relay phase each client process wakes every T ms and sends the frames due by
                       then (default 5; at 5,000 frames/s a bulk worker sends ~8 per wake-up); the probe
                       wakes only when its next frame is due
  --generator-nice N   scheduling niceness of the client processes (default 10; 0: the same priority as the
                       nodes). The generator shares the deployment's cores (nodes, Redis, database) while
                       standing in for clients on other machines; at equal priority its processes take the
                       CPU from a node, or from Redis, that has frames waiting
  --node-nice N        scheduling niceness of the node processes (default 0; below 0 needs root; the
                       niceness in effect is reported)
  --generator-idle     run the bulk client processes under SCHED_IDLE (chrt --idle) instead of at
                       --generator-nice: they get a CPU only when the nodes, Redis and the probe do
                       not want it, and give it back the moment one of them wakes
  --generator-batch    run the bulk client processes under SCHED_BATCH (chrt --batch) at --generator-nice:
                       their full share of the CPU, but a worker that wakes waits for the running node or
                       Redis to finish its slice instead of preempting it
  --generator-slice-us S
                       EEVDF slice of the bulk client processes in µs (Linux 6.12+; 100-100000; default 0:
                       the kernel's, 1.4 ms here). Niceness sets their share of a contended CPU, the slice
                       how soon a worker runs once woken: at niceness 10 the default slice queues it ~13 ms
                       behind the nodes, a 100 µs slice under 1 ms, for the same share
  --node-slice-us S    the same for the node processes and the local Redis server (restored at the end)
  --probe-nice N       scheduling niceness of the probe process (default 0, the nodes' default). It sends 100
                       frames/s and stands in for a client on a machine of its own: at the bulk workers'
                       lowered priority its own waits for a CPU (tens of ms) would be counted as relay latency
  --time-scale X       multiply the phases' deadlines, the whole-run deadline, the clients' connect, setup and
                       request timeouts and the tokens' lifetime by X (default 1; an emulated VM,
                       bench/vm/run.sh, runs several times slower than this machine)
  --wire               relay phase: also time every relayed frame on the wire, from a capture of the nodes'
                       loopback ports (tcpdump, as root): from the sender's frame reaching a node to the
                       node's copy leaving for the receiver, without either client's own scheduling
  --pin                the node(s) on CPU 0; the workers, this process, the database server it started and the
                       Redis server (restored at the end) on the other CPUs, so the load generator does not take
                       the node's core (taskset)

BENCH_NODE_ARGS adds Node flags to the node processes (e.g. "--trace-gc", "--cpu-prof --cpu-prof-dir=/tmp/prof");
BENCH_NODE_ENV adds settings to their environment (e.g. "SIGNAL_REPLAY_FLUSH_MS=1000").
BENCH_WORKER_ARGS adds Node flags to the client processes (bulk workers and the probe).

Database: MONGO_URL, else FerretDB on a scratch PostgreSQL database (FERRETDB_POSTGRESQL_URL or
the local server), else the embedded default. MONGO_URL and FERRETDB_POSTGRESQL_URL together name a
FerretDB you started on that PostgreSQL database: the bench then tunes it as one it started (the
_id index, the nodes' pool cap), e.g. when the bench runs in a VM and the database on the host. Redis: REDIS_URL, else 127.0.0.1:6379, else a
spawned redis-server; keys use a unique prefix and are deleted at the end.`;

/** Descriptors a node uses besides its sockets (database pool, Redis, listen socket, logs…), with a margin. */
const NODE_OWN_FDS = 120;
const WORKER = join(fileURLToPath(new URL('.', import.meta.url)), 'signal-bench-worker.js');
const ISSUER = 'api.vidivo.app';
/** FerretDB's default PostgreSQL pool size (`pool_max_conns`), and how many client connections all nodes together may use below it. */
const FERRET_PG_POOL = 50;
const FERRET_CLIENT_CONNECTIONS = 40;

interface Options {
  calls: number;
  nodes: number;
  ramp: number;
  relayRate: number;
  relaySec: number;
  pingSec: number;
  pingEveryMs: number;
  idleSec: number;
  workers: number;
  socketsPerWorker: number;
  retries: number;
  json: boolean;
  logDir: string | undefined;
  maxInflight: number;
  idIndex: boolean;
  forcedGc: boolean;
  pin: boolean;
  /** Relay phase: time the frames on the wire too (a tcpdump capture of the node ports). */
  wire: boolean;
  /** Multiplies the phase deadlines, the whole-run watchdog, client timeouts and token lifetime (an emulated VM runs several times slower). */
  timeScale: number;
  probeCalls: number;
  /** Frames/s of the probe process: 0 without one, never above `relayRate`. */
  probeRate: number;
  /** Relay phase: how often a client process wakes to send the frames due. */
  sendTickMs: number;
  /** Niceness the node processes are started with. */
  nodeNice: number;
  /** Niceness the bulk client processes are started with. */
  generatorNice: number;
  /** Niceness the probe process is started with. */
  probeNice: number;
  /** The bulk client processes run under SCHED_IDLE (then `generatorNice` does not apply). */
  generatorIdle: boolean;
  /** The bulk client processes run under SCHED_BATCH, at `generatorNice`. */
  generatorBatch: boolean;
  /** EEVDF slice of the bulk client processes in µs; 0: the kernel's default. */
  generatorSliceUs: number;
  /** EEVDF slice of the nodes and the local Redis server in µs; 0: the kernel's default. */
  nodeSliceUs: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '200' },
      nodes: { type: 'string', default: '1' },
      ramp: { type: 'string', default: '100' },
      'relay-rate': { type: 'string', default: '5000' },
      'relay-sec': { type: 'string', default: '30' },
      'ping-sec': { type: 'string', default: '60' },
      'ping-every-ms': { type: 'string', default: '20000' },
      'idle-sec': { type: 'string', default: '30' },
      workers: { type: 'string', default: '0' },
      'sockets-per-worker': { type: 'string', default: '8000' },
      retries: { type: 'string', default: '2' },
      json: { type: 'boolean', default: false },
      'log-dir': { type: 'string' },
      'max-inflight': { type: 'string', default: '200' },
      'no-id-index': { type: 'boolean', default: false },
      'no-forced-gc': { type: 'boolean', default: false },
      pin: { type: 'boolean', default: false },
      wire: { type: 'boolean', default: false },
      'probe-calls': { type: 'string', default: '10' },
      'probe-rate': { type: 'string', default: '100' },
      'send-tick-ms': { type: 'string', default: '5' },
      'node-nice': { type: 'string', default: '0' },
      'generator-nice': { type: 'string', default: '10' },
      'probe-nice': { type: 'string', default: '0' },
      'generator-idle': { type: 'boolean', default: false },
      'generator-batch': { type: 'boolean', default: false },
      'generator-slice-us': { type: 'string', default: '0' },
      'node-slice-us': { type: 'string', default: '0' },
      'time-scale': { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (name: keyof typeof values, min: number, max = Infinity): number => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min || n > max) {
      process.stderr.write(`--${name} must be a number in [${min}, ${max}]\n\n${USAGE}\n`);
      process.exit(2);
    }
    return n;
  };
  if (values['generator-idle'] && values['generator-batch']) {
    process.stderr.write(`--generator-idle and --generator-batch exclude each other\n\n${USAGE}\n`);
    process.exit(2);
  }
  const slice = (name: 'generator-slice-us' | 'node-slice-us'): number => {
    const us = Math.trunc(num(name, 0, SLICE_MAX_US));
    if (us !== 0 && us < SLICE_MIN_US) {
      process.stderr.write(`--${name} must be 0 or in [${SLICE_MIN_US}, ${SLICE_MAX_US}]\n\n${USAGE}\n`);
      process.exit(2);
    }
    if (us !== 0 && values['generator-idle'] && name === 'generator-slice-us') {
      process.stderr.write(`--generator-slice-us does not apply under --generator-idle\n\n${USAGE}\n`);
      process.exit(2);
    }
    return us;
  };
  const calls = Math.floor(num('calls', 1));
  const relayRate = num('relay-rate', 0);
  const probeCalls = Math.floor(num('probe-calls', 0, Math.max(0, calls - 1)));
  const socketsPerWorker = Math.floor(num('sockets-per-worker', 2, 19000));
  const workers = Math.floor(num('workers', 0, 64)) || Math.max(1, Math.ceil((calls * 2) / socketsPerWorker));
  return {
    calls, nodes: Math.floor(num('nodes', 1, 8)), ramp: num('ramp', 0.1), relayRate, relaySec: num('relay-sec', 0),
    pingSec: num('ping-sec', 0), pingEveryMs: num('ping-every-ms', 100), idleSec: num('idle-sec', 0), workers: Math.min(workers, calls),
    socketsPerWorker, retries: Math.floor(num('retries', 0, 20)), json: values.json === true, logDir: values['log-dir'],
    maxInflight: Math.floor(num('max-inflight', 1)), idIndex: values['no-id-index'] !== true,
    forcedGc: values['no-forced-gc'] !== true, pin: values.pin === true, wire: values.wire === true,
    timeScale: num('time-scale', 1, 100),
    probeCalls, probeRate: probeCalls > 0 ? Math.min(num('probe-rate', 0), relayRate) : 0,
    sendTickMs: num('send-tick-ms', 1, 1000),
    nodeNice: Math.trunc(num('node-nice', -20, 19)),
    generatorNice: Math.trunc(num('generator-nice', -20, 19)),
    probeNice: Math.trunc(num('probe-nice', -20, 19)),
    generatorIdle: values['generator-idle'] === true,
    generatorBatch: values['generator-batch'] === true,
    generatorSliceUs: slice('generator-slice-us'),
    nodeSliceUs: slice('node-slice-us'),
  };
}

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

/** 127.0.0.1 … 127.0.0.8, keeping those a socket can bind to. */
async function loopbackSources(): Promise<string[]> {
  const candidates = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
  const usable: string[] = [];
  for (const host of candidates) {
    const ok = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(0, host, () => server.close(() => resolve(true)));
    });
    if (ok) usable.push(host);
  }
  return usable;
}

interface NodeProcess {
  index: number;
  id: string;
  port: number;
  /** Inspector port (loopback), used only to ask for a full GC before RSS readings. */
  inspectPort: number | undefined;
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** The niceness in effect (read back: a niceness below 0 needs root). */
  nice: number;
}

/** Node flags from the environment variable `name`, space-separated. */
function extraArgs(name: 'BENCH_NODE_ARGS' | 'BENCH_WORKER_ARGS'): string[] {
  return (process.env[name] ?? '').split(' ').filter(Boolean);
}

/** `BENCH_NODE_ENV="SIGNAL_REPLAY_FLUSH_MS=1000 LOG_LEVEL=info"`: extra settings for the node processes. */
function benchNodeEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (process.env.BENCH_NODE_ENV ?? '').split(' ').filter(Boolean)) {
    const cut = pair.indexOf('=');
    if (cut > 0) out[pair.slice(0, cut)] = pair.slice(cut + 1);
  }
  return out;
}

async function startNode(index: number, env: Record<string, string>, logDir: string, withInspector: boolean, nice: number): Promise<NodeProcess> {
  const port = await freePort();
  const inspectPort = withInspector ? await freePort() : undefined;
  const id = `bench-${index}`;
  const logFile = join(logDir, `${id}.log`);
  const fd = openSync(logFile, 'w');
  const nodeArgs = [...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []), ...extraArgs('BENCH_NODE_ARGS')];
  const [file, args] = niced([process.execPath, ...nodeArgs, join(PROJECT_ROOT, 'dist', 'scripts', 'cli.js'), 'signal'], nice);
  const child = spawn(file, args, {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', LOG_LEVEL: 'warn',
      ...env, ...benchNodeEnv(), NODE_ID: id, SIGNAL_PORT: String(port),
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`node ${id} exited (${code}) before listening; see ${logFile}`))));
  exited.catch(() => undefined);
  await Promise.race([waitForPort('127.0.0.1', port, 60000), exited]);
  const deadline = Date.now() + 30000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(5000) }).then((r) => r.json() as Promise<{ data?: { status?: string } }>).catch(() => undefined);
    if (ready?.data?.status === 'ready') break;
    if (Date.now() > deadline) throw new Error(`node ${id} not ready within 30 s: ${JSON.stringify(ready)}`);
    await sleep(200);
  }
  return { index, id, port, inspectPort, child, pid: child.pid!, logFile, nice: niceOf(child.pid!) };
}

/** Asks a node for a full garbage collection through its inspector (`HeapProfiler.collectGarbage`); false when it cannot. */
async function collectGarbage(inspectPort: number): Promise<boolean> {
  try {
    const targets = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`, { signal: AbortSignal.timeout(5000) })).json() as Array<{ webSocketDebuggerUrl?: string }>;
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) return false;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('inspector: no reply')), 30000);
        ws.once('error', reject);
        ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
        ws.on('message', (data) => {
          if ((JSON.parse(data.toString()) as { id?: number }).id === 1) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    } finally {
      ws.terminate();
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * RSS of each node over an idle window of `seconds` (KiB): `max` is the highest per-second sample
 * (garbage included); `settled` is read 2 s after a forced full GC at the end of the window, or,
 * without an inspector, the lowest sample.
 */
async function idleRss(nodes: NodeProcess[], seconds: number): Promise<{ settled: number[]; max: number[]; forcedGc: boolean }> {
  const pids = nodes.map((n) => n.pid);
  const first = pids.map(rssKiB);
  const min = [...first];
  const max = [...first];
  for (let i = 0; i < seconds; i += 1) {
    await sleep(1000);
    pids.map(rssKiB).forEach((k, j) => {
      if (k < min[j]!) min[j] = k;
      if (k > max[j]!) max[j] = k;
    });
  }
  const collected = await Promise.all(nodes.map((n) => (n.inspectPort ? collectGarbage(n.inspectPort) : Promise.resolve(false))));
  if (!collected.every(Boolean)) return { settled: min, max, forcedGc: false };
  await sleep(2000);
  return { settled: pids.map(rssKiB), max, forcedGc: true };
}

async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await Promise.race([done, sleep(graceMs + 2000)]);
  clearTimeout(timer);
}

/** What one node's /metrics says: sockets, heap in use, and the relay histogram by path (cumulative counts by bucket). */
interface NodeMetrics {
  sockets: number;
  heapUsedBytes: number;
  /** Event-loop delay since the previous scrape (prom-client resets it on every scrape), seconds. */
  loopP99: number;
  loopMax: number;
  relay: Map<string, Map<number, number>>;
}

async function scrape(port: number): Promise<NodeMetrics> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(15000) })).text();
  const out: NodeMetrics = { sockets: NaN, heapUsedBytes: NaN, loopP99: NaN, loopMax: NaN, relay: new Map() };
  for (const line of text.split('\n')) {
    if (line.startsWith('signal_sockets ')) out.sockets = Number(line.split(' ')[1]);
    else if (line.startsWith('signal_nodejs_heap_size_used_bytes ')) out.heapUsedBytes = Number(line.split(' ')[1]);
    else if (line.startsWith('signal_nodejs_eventloop_lag_p99_seconds ')) out.loopP99 = Number(line.split(' ')[1]);
    else if (line.startsWith('signal_nodejs_eventloop_lag_max_seconds ')) out.loopMax = Number(line.split(' ')[1]);
    else if (line.startsWith('signal_relay_latency_seconds_bucket{')) {
      const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      const path = labels['path'] ?? 'all';
      const le = labels['le'] === '+Inf' ? Infinity : Number(labels['le']);
      const byLe = out.relay.get(path) ?? new Map<number, number>();
      byLe.set(le, value);
      out.relay.set(path, byLe);
    }
  }
  return out;
}

/** prom-client samples the event loop every 10 ms and reports whole intervals; the delay is the excess. */
const PROM_LOOP_RESOLUTION_MS = 10;

/** Each node's event-loop delay (ms) over the interval that ended with this scrape. */
function nodeLoopDelay(after: NodeMetrics[]): Array<{ p99: number; max: number }> {
  const excess = (sec: number) => Math.max(0, Math.round((sec * 1000 - PROM_LOOP_RESOLUTION_MS) * 10) / 10);
  return after.map((m) => ({ p99: excess(m.loopP99), max: excess(m.loopMax) }));
}

/** Server-side relay latency between two scrapes of every node: count and the bucket bounds holding p50/p99 (ms). */
function serverRelay(before: NodeMetrics[], after: NodeMetrics[]): Record<string, { count: number; p50_le_ms: number | null; p99_le_ms: number | null }> {
  const delta = new Map<string, Map<number, number>>();
  after.forEach((m, i) => {
    for (const [path, byLe] of m.relay) {
      const into = delta.get(path) ?? new Map<number, number>();
      for (const [le, n] of byLe) into.set(le, (into.get(le) ?? 0) + n - (before[i]?.relay.get(path)?.get(le) ?? 0));
      delta.set(path, into);
    }
  });
  const out: Record<string, { count: number; p50_le_ms: number | null; p99_le_ms: number | null }> = {};
  for (const [path, byLe] of delta) {
    const sorted = [...byLe].sort((a, b) => a[0] - b[0]);
    const total = sorted.at(-1)?.[1] ?? 0;
    const q = (p: number): number | null => {
      if (total === 0) return null;
      const le = sorted.find(([, n]) => n >= total * p)?.[0] ?? Infinity;
      return Number.isFinite(le) ? le * 1000 : null;
    };
    out[path] = { count: total, p50_le_ms: q(0.5), p99_le_ms: q(0.99) };
  }
  return out;
}

interface CpuSnapshot {
  at: number;
  nodes: number[];
  workers: number[];
  database: Map<number, number>;
  redis: number;
  /** Run-queue seconds of the main threads: nodes, workers (in pool order), Redis. */
  waits: { nodes: number[]; workers: number[]; redis: number };
  machine: { busy: number; steal: number; total: number };
}

interface PhaseCpu {
  wall_sec: number;
  node_cpu_sec: number[];
  node_cpu_pct: number[];
  worker_cpu_sec: number[];
  workers_cpu_pct: number;
  database_cpu_pct: number;
  /** The Redis server's CPU, when it runs on this machine (null otherwise). */
  redis_cpu_pct: number | null;
  /** Share of the phase each main thread spent runnable but waiting for a CPU: nodes, client processes (the probe last), Redis. */
  runqueue_wait_pct: { nodes: number[]; workers: number[]; redis: number | null };
  machine_busy_pct: number;
  /** Of all cores' time, the share stolen by the hypervisor (part of busy): the same work then takes longer. */
  machine_steal_pct: number;
}

/**
 * CPU seconds of the nodes, the workers, the database processes, Redis and the whole machine, and
 * the main threads' run-queue waits, summed over the intervals of each phase.
 */
class CpuMeter {
  readonly phases = new Map<string, { wall: number; nodes: number[]; workers: number[]; database: number; redis: number; waits: { nodes: number[]; workers: number[]; redis: number }; busy: number; steal: number; total: number }>();

  constructor(private readonly pids: { nodes: number[]; workers: () => number[]; database: () => number[]; redis: number | undefined }) {}

  snapshot(): CpuSnapshot {
    return {
      at: performance.now(), nodes: this.pids.nodes.map(cpuSeconds), workers: this.pids.workers().map(cpuSeconds),
      database: new Map(this.pids.database().map((pid) => [pid, cpuSeconds(pid)])),
      redis: this.pids.redis === undefined ? NaN : cpuSeconds(this.pids.redis), machine: machineCpu(),
      waits: {
        nodes: this.pids.nodes.map(runQueueSeconds), workers: this.pids.workers().map(runQueueSeconds),
        redis: this.pids.redis === undefined ? NaN : runQueueSeconds(this.pids.redis),
      },
    };
  }

  add(phase: string, from: CpuSnapshot): void {
    const to = this.snapshot();
    const acc = this.phases.get(phase) ?? { wall: 0, nodes: this.pids.nodes.map(() => 0), workers: to.workers.map(() => 0), database: 0, redis: 0,
      waits: { nodes: this.pids.nodes.map(() => 0), workers: to.workers.map(() => 0), redis: 0 }, busy: 0, steal: 0, total: 0 };
    const delta = (a: number, b: number | undefined) => (Number.isFinite(a) ? a - (b !== undefined && Number.isFinite(b) ? b : a) : 0);
    const addEach = (into: number[], now: number[], before: number[]) => now.forEach((v, i) => { into[i] = (into[i] ?? 0) + delta(v, before[i]); });
    acc.wall += (to.at - from.at) / 1000;
    addEach(acc.nodes, to.nodes, from.nodes);
    addEach(acc.workers, to.workers, from.workers);
    for (const [pid, v] of to.database) acc.database += Number.isFinite(v) ? v - (from.database.get(pid) ?? 0) : 0;
    acc.redis += delta(to.redis, from.redis);
    addEach(acc.waits.nodes, to.waits.nodes, from.waits.nodes);
    addEach(acc.waits.workers, to.waits.workers, from.waits.workers);
    acc.waits.redis += delta(to.waits.redis, from.waits.redis);
    acc.busy += to.machine.busy - from.machine.busy;
    acc.steal += to.machine.steal - from.machine.steal;
    acc.total += to.machine.total - from.machine.total;
    this.phases.set(phase, acc);
  }

  report(): Record<string, PhaseCpu> {
    const out: Record<string, PhaseCpu> = {};
    const r1 = (n: number) => Math.round(n * 10) / 10;
    for (const [phase, acc] of this.phases) {
      const pct = (sec: number) => (acc.wall > 0 ? Math.round((sec / acc.wall) * 100) : 0);
      const pct1 = (sec: number) => (acc.wall > 0 ? Math.round((sec / acc.wall) * 1000) / 10 : 0);
      out[phase] = {
        wall_sec: r1(acc.wall),
        node_cpu_sec: acc.nodes.map(r1),
        node_cpu_pct: acc.nodes.map(pct),
        worker_cpu_sec: acc.workers.map(r1),
        workers_cpu_pct: pct(acc.workers.reduce((a, b) => a + b, 0)),
        database_cpu_pct: pct(acc.database),
        redis_cpu_pct: this.pids.redis === undefined ? null : pct(acc.redis),
        runqueue_wait_pct: {
          nodes: acc.waits.nodes.map(pct1), workers: acc.waits.workers.map(pct1),
          redis: this.pids.redis === undefined ? null : pct1(acc.waits.redis),
        },
        machine_busy_pct: acc.total > 0 ? Math.round((acc.busy / acc.total) * 100) : 0,
        machine_steal_pct: acc.total > 0 ? Math.round((acc.steal / acc.total) * 1000) / 10 : 0,
      };
    }
    return out;
  }
}

type PhaseReply<P extends PhaseName> = { common: PhaseCommon; result: PhaseResults[P] };

interface WorkerHandle {
  index: number;
  child: ChildProcess;
  pid: number;
  init: WorkerInit;
  progress: { phase: PhaseName; done: number; total: number; open: number } | undefined;
  pending: { phase: PhaseName; resolve: (reply: PhaseReply<PhaseName>) => void; reject: (err: Error) => void } | undefined;
}

/** How a client process is scheduled: its policy and, but for SCHED_IDLE, its niceness. */
interface WorkerScheduling {
  policy: 'normal' | 'batch' | 'idle';
  nice: number;
}

/** The client processes: one command at a time to all of them, answered by one result each. */
class WorkerPool {
  readonly workers: WorkerHandle[] = [];
  #failed: Error | undefined;

  /** `timeScale`: multiplies each phase's deadline (`--time-scale`). */
  constructor(private readonly timeScale: number) {}

  /** Starts one process per init, each as `scheduling` says: at a niceness, or under SCHED_IDLE. */
  async start(inits: WorkerInit[], scheduling: (init: WorkerInit) => WorkerScheduling): Promise<void> {
    await Promise.all(inits.map((init) => new Promise<void>((resolve, reject) => {
      const command = [process.execPath, '--max-old-space-size=4096', ...extraArgs('BENCH_WORKER_ARGS'), WORKER];
      const how = scheduling(init);
      const [file, args] = how.policy === 'idle' ? idleScheduled(command) : how.policy === 'batch' ? batchScheduled(command, how.nice) : niced(command, how.nice);
      const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const handle: WorkerHandle = { index: init.worker, child, pid: child.pid!, init, progress: undefined, pending: undefined };
      this.workers.push(handle);
      const timer = setTimeout(() => reject(new Error(`worker ${init.worker} not ready within 30 s`)), 30000);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`worker ${init.worker} could not start (${file}): ${err.message}`));
      });
      child.on('message', (message: FromWorker) => {
        if (message.kind === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (message.kind === 'progress') {
          handle.progress = message;
        } else if (message.kind === 'result' && handle.pending?.phase === message.phase) {
          const pending = handle.pending;
          handle.pending = undefined;
          pending.resolve({ common: message.common, result: message.result });
        } else if (message.kind === 'error') {
          this.fail(new Error(`worker ${init.worker}: ${message.message}`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const err = new Error(`worker ${init.worker} exited (${code ?? signal})`);
        reject(err);
        if (handle.pending) this.fail(err);
      });
      child.send({ kind: 'init', init } satisfies ToWorker);
    })));
  }

  /** Sends each worker its command for `phase` and resolves with every reply (in worker order); rejects after `timeoutMs`. */
  async run<P extends PhaseName>(phase: P, command: (w: WorkerHandle) => ToWorker, unscaledTimeoutMs: number): Promise<Array<PhaseReply<P>>> {
    const timeoutMs = unscaledTimeoutMs * this.timeScale;
    if (this.#failed) throw this.#failed;
    const replies = this.workers.map((w) => new Promise<PhaseReply<P>>((resolve, reject) => {
      w.progress = undefined;
      w.pending = { phase, resolve: resolve as (reply: PhaseReply<PhaseName>) => void, reject };
      w.child.send(command(w));
    }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`phase ${phase}: workers did not finish within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    const ticker = setInterval(() => {
      const done = this.workers.reduce((n, w) => n + (w.progress?.done ?? 0), 0);
      const total = this.workers.reduce((n, w) => n + (w.progress?.total ?? 0), 0);
      const open = this.workers.reduce((n, w) => n + (w.progress?.open ?? 0), 0);
      if (total > 0) log(`${phase}: ${done}/${total}, ${open} client sockets open`);
    }, 5000);
    try {
      return await Promise.race([Promise.all(replies), timeout]);
    } finally {
      clearTimeout(timer);
      clearInterval(ticker);
    }
  }

  fail(err: Error): void {
    this.#failed ??= err;
    for (const w of this.workers) {
      const pending = w.pending;
      w.pending = undefined;
      pending?.reject(err);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map(async (w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return;
      const exited = new Promise((resolve) => w.child.once('exit', resolve));
      if (w.child.connected) w.child.send({ kind: 'stop' } satisfies ToWorker);
      await Promise.race([exited, sleep(5000)]);
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGKILL');
        await Promise.race([exited, sleep(2000)]);
      }
    }));
  }
}

function merge(datas: HistogramData[]): Histogram {
  const h = new Histogram();
  for (const d of datas) h.merge(d);
  return h;
}

interface Latency {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

function ms(h: Histogram): Latency {
  const p = percentiles(h);
  const r = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);
  return { count: p.count, p50: r(p.p50), p90: r(p.p90), p99: r(p.p99), p999: r(h.percentile(0.999)), max: r(p.max) };
}

function sum(values: number[]): number {
  return values.reduce((x, y) => x + y, 0);
}

function sumReasons(all: Reasons[]): Reasons {
  const out: Reasons = {};
  for (const r of all) for (const [k, n] of Object.entries(r)) out[k] = (out[k] ?? 0) + n;
  return out;
}

function loopDelay(replies: Array<{ common: PhaseCommon }>): { p99: number; max: number } {
  const r = (n: number) => Math.round(n * 10) / 10;
  return { p99: r(Math.max(0, ...replies.map((x) => x.common.loopDelayMs.p99))), max: r(Math.max(0, ...replies.map((x) => x.common.loopDelayMs.max))) };
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const noCapture = opts.wire ? wireCaptureUnavailable() : undefined;
  if (noCapture) {
    process.stderr.write(`--wire: ${noCapture}\n`);
    process.exit(2);
  }
  const report: Record<string, unknown> = {};
  const cleanups: Array<{ name: string; run: () => Promise<unknown> | unknown }> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaning ??= (async () => {
    for (const { name, run } of cleanups.reverse()) {
      try {
        await Promise.race([Promise.resolve().then(run), sleep(30000).then(() => { throw new Error('timed out'); })]);
      } catch (err) {
        log(`cleanup ${name} failed: ${(err as Error).message}`);
      }
    }
  })());
  const pool = new WorkerPool(opts.timeScale);
  const bail = (reason: string): void => {
    log(`aborting: ${reason}`);
    pool.fail(new Error(reason));
  };
  let signals = 0;
  const onSignal = (signal: string): void => {
    signals += 1;
    if (signals === 1) bail(signal);
    else if (signals < 4) log(`${signal}: cleaning up (send ${4 - signals} more to exit at once, leaving processes and data behind)`);
    else process.exit(130);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const tokenTtlSec = Math.max(3600, Math.ceil(2 * opts.timeScale * (120 + (3 * opts.calls) / opts.ramp + 3 * opts.idleSec + opts.relaySec + opts.pingSec)));
  const budgetSec = opts.timeScale * (600 + (5 * opts.calls) / opts.ramp + opts.calls / 20 + 3 * opts.idleSec + opts.relaySec + opts.pingSec);
  const watchdog = setTimeout(() => bail(`whole run over its ${Math.round(budgetSec)} s budget`), budgetSec * 1000);
  watchdog.unref();

  const machine = { cores: cpus().length, load_before: loadavg().map((n) => Math.round(n * 100) / 100) } as Record<string, unknown>;
  report['machine'] = machine;
  const notes: string[] = [];
  report['notes'] = notes;
  const limit = fdLimit(process.pid);
  machine['fd_limit'] = limit;
  const perNodeSockets = Math.ceil((opts.calls * 2) / opts.nodes);
  const nodeFdRoom = limit.hard - NODE_OWN_FDS;
  if (perNodeSockets > nodeFdRoom) {
    notes.push(`${perNodeSockets} sockets per node cannot fit under the ${limit.hard} open-file hard limit of a process; expect refused connections (EMFILE on the node).`);
  }
  if (nodeFdRoom < 20000) {
    notes.push(`Open files are hard-capped at ${limit.hard} per process here, so one node holds at most ~${nodeFdRoom} sockets: the issue's 20,000-socket single-node target cannot be run on this machine; ${Math.floor(nodeFdRoom / 200) * 100} calls (${Math.floor(nodeFdRoom / 200) * 200} sockets) is the largest one-node run here (npm run bench:signal:vm runs more in a VM).`);
  }

  try {
    const workDir = mkdtempSync(join(tmpdir(), 'vidivo-signal-bench-'));
    cleanups.push({ name: 'work dir', run: () => rmSync(workDir, { recursive: true, force: true }) });
    const keysDir = join(workDir, 'keys');
    generateKeyFile(keysDir);

    const redis = await resolveRedis();
    if (redis.stop) cleanups.push({ name: 'redis-server', run: redis.stop });
    const prefix = `bench${newId().slice(-8).toLowerCase()}`;
    cleanups.push({ name: 'redis keys', run: async () => log(`deleted ${await deleteKeys(redis.url, prefix)} Redis keys under ${prefix}:`) });

    const scratch = process.env.MONGO_URL || process.env.FERRETDB_POSTGRESQL_URL ? undefined : createScratchPostgres();
    if (scratch) cleanups.push({ name: 'scratch PostgreSQL database', run: () => scratch.drop() });
    const ferretPostgresUrl = process.env.FERRETDB_POSTGRESQL_URL ?? scratch?.url;
    const mongo = await resolveMongo({ url: process.env.MONGO_URL, dataDir: '.data/bench', ephemeral: true, ferretPostgresUrl });
    cleanups.push({ name: 'database server', run: () => mongo.stop() });
    const isFerret = mongo.source.startsWith('ferretdb') || (process.env.MONGO_URL !== undefined && ferretPostgresUrl !== undefined);
    const onPostgres = isFerret && ferretPostgresUrl !== undefined;
    const database = `bench_${newId().toLowerCase()}`;
    const handle = await connectMongo(mongo.url, database, 30000);
    cleanups.push({ name: 'database connection', run: () => handle.close() });
    await new MongoCallStore(handle.db).ensureIndexes();
    if (!scratch) cleanups.push({ name: 'bench database', run: () => handle.db.dropDatabase() });
    if (onPostgres && opts.idIndex) {
      const tables = addIdIndexes(ferretPostgresUrl!, database);
      notes.push(`Bench tuning: GIN index on _id added to FerretDB's PostgreSQL tables ${tables.join(', ')} (FerretDB 1.24 filters _id with @>, which its btree _id index cannot serve; without it every lookup scans the collection and setup/hangup slow down as the collection grows). --no-id-index measures without it.`);
    }
    if (mongo.source.startsWith('ferretdb') && !onPostgres) notes.push('FerretDB on SQLite: far too slow for thousands of calls; set up PostgreSQL (FERRETDB_POSTGRESQL_URL) for real figures.');

    const sources = await loopbackSources();
    report['config'] = {
      calls: opts.calls, nodes: opts.nodes, workers: opts.workers, ramp_calls_per_sec: opts.ramp, relay_rate: opts.relayRate, relay_sec: opts.relaySec, send_tick_ms: opts.sendTickMs, node_nice: opts.nodeNice, generator_nice: opts.generatorNice,
      ping_sec: opts.pingSec, ping_every_ms: opts.pingEveryMs, idle_sec: opts.idleSec, retries: opts.retries,
      probe_calls: opts.probeCalls, probe_frames_per_sec: opts.probeRate, time_scale: opts.timeScale,
      database: `${mongo.source}${isFerret && !mongo.source.startsWith('ferretdb') ? ' (FerretDB)' : ''}${onPostgres ? ' (PostgreSQL backend)' : ''}`, redis: redis.source, redis_prefix: prefix, client_source_addresses: sources,
    };
    log(`database: ${mongo.source}${onPostgres ? ' on PostgreSQL' : ''}; redis: ${redis.source} (prefix ${prefix}); ${opts.calls} calls, ${opts.nodes} node(s), ${opts.workers} worker(s)${opts.probeCalls > 0 ? ` + a probe process (${opts.probeCalls} calls)` : ''}`);

    const nodeMongo = new URL(mongo.url);
    if (isFerret && !nodeMongo.searchParams.has('maxPoolSize')) {
      nodeMongo.searchParams.set('maxPoolSize', String(Math.max(4, Math.floor(FERRET_CLIENT_CONNECTIONS / opts.nodes))));
      notes.push(`Each node's MongoDB pool is capped at ${nodeMongo.searchParams.get('maxPoolSize')} connections: FerretDB 1.24 (PostgreSQL backend) deadlocks when ${FERRET_PG_POOL} or more \`update\` commands run at once (each holds a pgx connection for its query cursor and waits for a second one to apply the update; its pool has ${FERRET_PG_POOL} connections by default).`);
    }
    (report['config'] as Record<string, unknown>)['node_mongo_pool'] = nodeMongo.searchParams.get('maxPoolSize') ?? 'driver default';
    const env: Record<string, string> = {
      REDIS_URL: redis.url, REDIS_PREFIX: prefix, MONGO_URL: nodeMongo.toString(), MONGO_DB: database, JWT_KEYS_DIR: keysDir,
      SIGNAL_MAX_SOCKETS_PER_USER: '10', SIGNAL_RATE_PER_SEC: '1000', SIGNAL_RATE_BURST: '1000', SIGNAL_IDLE_TIMEOUT_MS: '3600000',
      SIGNAL_JOIN_TIMEOUT_MS: '60000', STUN_URLS: '[]', SHUTDOWN_TIMEOUT_MS: '5000',
    };
    const nodes: NodeProcess[] = [];
    cleanups.push({ name: 'signal nodes', run: () => Promise.all(nodes.map((n) => stopProcess(n.child, 8000))) });
    const logDir = opts.logDir ? resolve(opts.logDir) : workDir;
    mkdirSync(logDir, { recursive: true });
    for (let i = 0; i < opts.nodes; i += 1) nodes.push(await startNode(i, env, logDir, opts.forcedGc, opts.nodeNice));
    const nices = [...new Set(nodes.map((n) => n.nice))];
    if (nices.some((n) => n !== opts.nodeNice)) notes.push(`The nodes run at niceness ${nices.join(', ')}, not the ${opts.nodeNice} asked for (a niceness below 0 needs root).`);
    log(`signal node(s) at niceness ${nices.join(', ')}`);
    cleanups.push({ name: 'node logs', run: () => {
      for (const n of nodes) {
        const lines = readFileSync(n.logFile, 'utf8').split('\n').filter((l) => l && !/^(Debugger listening on|For help, see)/.test(l));
        if (lines.length > 0) log(`${n.id} logged ${lines.length} warn/error lines; last: ${lines.at(-1)!.slice(0, 300)}`);
      }
    } });
    report['node_limits'] = nodes.map((n) => ({ node: n.id, fd_limit: fdLimit(n.pid), fds_open_fresh: openFds(n.pid), nice: n.nice }));

    const pgDatabase = onPostgres ? new URL(ferretPostgresUrl!).pathname.slice(1) : undefined;
    const redisPid = await redisServerPid(redis.url);
    if (opts.nodeSliceUs > 0) {
      for (const n of nodes) setSlice(n.pid, opts.nodeSliceUs);
      if (redisPid) {
        const before = sliceOf(redisPid);
        setSlice(redisPid, opts.nodeSliceUs);
        cleanups.push({ name: 'redis-server slice', run: async () => setSlice(redisPid, 0) });
        if (before !== undefined) log(`redis-server slice ${before} → ${sliceOf(redisPid)} µs (restored to the kernel's default at the end)`);
      }
    }
    (report['config'] as Record<string, unknown>)['node_slice_us'] = nodes.map((n) => sliceOf(n.pid) ?? null);
    const meter = new CpuMeter({
      nodes: nodes.map((n) => n.pid), workers: () => pool.workers.map((w) => w.pid),
      database: () => [...childrenNamed(process.pid, 'ferretdb'), ...childrenNamed(process.pid, 'mongod'), ...(pgDatabase ? postgresBackends(pgDatabase) : [])],
      redis: redisPid,
    });
    log(`idle: ${opts.idleSec} s on the fresh node(s)`);
    const freshRss = await idleRss(nodes, opts.idleSec);
    const fresh = freshRss.settled;

    // The bulk workers own the first N - P calls; the probe process (the last worker) the other P.
    const bulkCalls = opts.calls - opts.probeCalls;
    const perWorker = Math.ceil(bulkCalls / opts.workers);
    const inits: WorkerInit[] = [];
    const workerInit = (w: number, first: number, count: number): WorkerInit => ({
      worker: w, nodeUrls: nodes.map((n) => `ws://127.0.0.1:${n.port}`), localAddresses: sources, mongoUrl: mongo.url, database, keysDir,
      issuer: ISSUER, tokenTtlSec, firstIndex: first, count, createConcurrency: 16,
      connectTimeoutMs: 30000 * opts.timeScale, setupTimeoutMs: 90000 * opts.timeScale, retries: opts.retries, maxInflight: Math.max(1, Math.ceil(opts.maxInflight / opts.workers)),
    });
    for (let w = 0, first = 0; first < bulkCalls; w += 1, first += perWorker) inits.push(workerInit(w, first, Math.min(perWorker, bulkCalls - first)));
    const probeIndex = opts.probeCalls > 0 ? inits.length : -1;
    if (probeIndex >= 0) inits.push(workerInit(probeIndex, bulkCalls, opts.probeCalls));
    cleanups.push({ name: 'workers', run: () => pool.stop() });
    const bulkPolicy = opts.generatorIdle ? 'idle' : opts.generatorBatch ? 'batch' : 'normal';
    await pool.start(inits, (init) => (init.worker === probeIndex ? { policy: 'normal', nice: opts.probeNice } : { policy: bulkPolicy, nice: opts.generatorNice }));
    const workerNices = [...new Set(pool.workers.filter((w) => w.index !== probeIndex).map((w) => niceOf(w.pid)))];
    const probeNice = pool.workers.filter((w) => w.index === probeIndex).map((w) => niceOf(w.pid));
    const bulk = opts.generatorIdle ? 'under SCHED_IDLE (--generator-idle; --generator-nice does not apply)' : `at niceness ${workerNices.join(', ')}`;
    log(`bulk client processes ${bulk}${probeNice.length ? `, the probe at niceness ${probeNice[0]}` : ''}`);
    (report['config'] as Record<string, unknown>)['worker_nice'] = workerNices;
    const workerPolicies = [...new Set(pool.workers.filter((w) => w.index !== probeIndex).map((w) => policyOf(w.pid)))];
    (report['config'] as Record<string, unknown>)['worker_policy'] = workerPolicies;
    if (bulkPolicy !== 'normal') log(`bulk client processes' scheduling policy: ${workerPolicies.join(', ')}`);
    (report['config'] as Record<string, unknown>)['probe_nice'] = probeNice[0] ?? null;
    if (opts.generatorSliceUs > 0) for (const w of pool.workers) if (w.index !== probeIndex) setSlice(w.pid, opts.generatorSliceUs);
    const workerSlices = [...new Set(pool.workers.filter((w) => w.index !== probeIndex).map((w) => sliceOf(w.pid) ?? null))];
    (report['config'] as Record<string, unknown>)['worker_slice_us'] = workerSlices;
    if (opts.generatorSliceUs > 0) log(`bulk client processes' EEVDF slice: ${workerSlices.join(', ')} µs`);
    if (opts.pin) {
      const split = cpuSplit();
      if (!split) throw new Error('--pin needs at least 2 CPUs');
      for (const n of nodes) pin(n.pid, split.nodes);
      const database = [...childrenNamed(process.pid, 'ferretdb'), ...childrenNamed(process.pid, 'mongod')];
      for (const pid of [process.pid, ...pool.workers.map((w) => w.pid), ...database]) pin(pid, split.others);
      if (redisPid) {
        const before = affinityOf(redisPid);
        pin(redisPid, split.others);
        cleanups.push({ name: 'redis-server CPU affinity', run: async () => pin(redisPid, before) });
      }
      notes.push(`Pinned (--pin): node(s) on CPU ${split.nodes}; workers, the bench, ${database.length ? 'the database server, ' : ''}${redisPid ? 'the Redis server ' : ''}on CPU ${split.others}. PostgreSQL backends (if any) are not pinned.`);
      report['config'] = { ...(report['config'] as object), pinned: split };
    }

    let snap = meter.snapshot();
    log(`prepare: creating ${opts.calls} calls and ${opts.calls * 2} tokens`);
    const prepared = await pool.run('prepare', () => ({ kind: 'prepare' }), (120 + opts.calls / 10) * 1000);
    meter.add('prepare', snap);
    const created = prepared.map((r) => r.result.created);
    const totalCreated = created.reduce((a, b) => a + b, 0);
    report['prepare'] = { created: totalCreated, failures: sumReasons(prepared.map((r) => r.result.failures)), wall_sec: Math.round(Math.max(...prepared.map((r) => r.common.wallMs)) / 100) / 10 };
    if (totalCreated === 0) throw new Error('no call could be created');

    const setupReplies: Array<PhaseReply<'setup'>> = [];
    const readings: Array<{ rss: number[]; peak: number[]; forcedGc: boolean; sockets: number; heap: number[]; fds: number[] }> = [];
    for (const stage of [0.5, 1]) {
      snap = meter.snapshot();
      const stageCalls = created.map((c) => Math.ceil(c * stage));
      log(`setup: ${stage === 1 ? 'second' : 'first'} half, ${opts.ramp} calls/s`);
      const replies = await pool.run('setup', (w) => ({ kind: 'setup', upto: stageCalls[w.index]!, rate: (opts.ramp * created[w.index]!) / totalCreated }),
        ((totalCreated * stage) / opts.ramp + 180) * 1000);
      meter.add('setup', snap);
      setupReplies.push(...replies);
      snap = meter.snapshot();
      const rss = await idleRss(nodes, opts.idleSec);
      const metrics = await Promise.all(nodes.map((n) => scrape(n.port)));
      readings.push({
        rss: rss.settled, peak: rss.max, forcedGc: rss.forcedGc, sockets: metrics.reduce((a, m) => a + m.sockets, 0),
        heap: metrics.map((m) => m.heapUsedBytes), fds: nodes.map((n) => openFds(n.pid)),
      });
      meter.add('idle', snap);
    }
    const setupMs = merge(setupReplies.map((r) => r.result.setupMs));
    const active = setupReplies.reduce((n, r) => n + r.result.active, 0);
    const attempted = setupReplies.reduce((n, r) => n + r.result.attempted, 0);
    const setupWall = setupReplies.reduce((n, r) => n + r.common.wallMs, 0) / pool.workers.length / 1000;
    report['setup'] = {
      attempted, active, failed: attempted - active, failures: sumReasons(setupReplies.map((r) => r.result.failures)),
      retries: sumReasons(setupReplies.map((r) => r.result.retries)), setup_ms: ms(setupMs),
      calls_per_sec: Math.round(active / Math.max(setupWall, 0.001)), client_loop_delay_ms: loopDelay(setupReplies),
    };
    const [half, full] = readings as [typeof readings[0], typeof readings[0]];
    const perSocket = (sum(full.rss) - sum(fresh)) / full.sockets;
    const marginal = (sum(full.rss) - sum(half.rss)) / (full.sockets - half.sockets);
    const upper = (sum(full.peak) - sum(fresh)) / full.sockets;
    report['sockets'] = {
      target: totalCreated * 2, held: full.sockets, held_at_half: half.sockets, per_node_fds_open: full.fds,
      client_open: setupReplies.slice(-pool.workers.length).reduce((n, r) => n + r.common.open, 0),
    };
    const mib = (k: number) => Math.round(k / 102.4) / 10;
    report['memory'] = {
      node_rss_mib_fresh: fresh.map(mib), node_rss_mib_half: half.rss.map(mib), node_rss_mib_full: full.rss.map(mib),
      node_rss_mib_full_peak: full.peak.map(mib), node_heap_used_mib_full: full.heap.map((b) => Math.round(b / 104857.6) / 10),
      rss_kib_per_idle_socket: Math.round(perSocket * 100) / 100, rss_kib_per_idle_socket_marginal: Math.round(marginal * 100) / 100,
      rss_kib_per_idle_socket_upper: Math.round(upper * 100) / 100,
      settled_by: freshRss.forcedGc && half.forcedGc && full.forcedGc ? 'forced full GC (inspector)' : 'lowest per-second sample',
    };
    log(`setup: ${active}/${attempted} calls active, ${full.sockets} sockets on the node(s); RSS ${perSocket.toFixed(2)} KiB/socket (marginal ${marginal.toFixed(2)}, upper ${upper.toFixed(2)})`);

    const scrapeAll = () => Promise.all(nodes.map((n) => scrape(n.port)));
    const measure = async <P extends PhaseName>(phase: P, run: () => Promise<Array<PhaseReply<P>>>) => {
      const before = await scrapeAll();
      const from = meter.snapshot();
      const replies = await run();
      meter.add(phase, from);
      const after = await scrapeAll();
      return { replies, before, after, node_loop_delay_ms: nodeLoopDelay(after), client_loop_delay_ms: loopDelay(replies), drops: sumReasons(replies.map((r) => r.common.drops)) };
    };

    log(`signaling: offer → answer → 10 candidates each way, ${opts.ramp} calls/s`);
    const sig = await measure('signaling', () => pool.run('signaling', () => ({ kind: 'signaling', rate: opts.ramp / pool.workers.length, timeoutMs: 30000 * opts.timeScale }), (active / opts.ramp + 120) * 1000));
    const signaled = sig.replies;
    const sigWall = Math.max(...signaled.map((r) => r.common.wallMs)) / 1000;
    const sigFrames = signaled.reduce((n, r) => n + r.result.frames, 0);
    report['signaling'] = {
      calls: signaled.reduce((n, r) => n + r.result.calls, 0), completed: signaled.reduce((n, r) => n + r.result.completed, 0),
      failures: sumReasons(signaled.map((r) => r.result.failures)), frames: sigFrames, frames_per_sec: Math.round(sigFrames / sigWall),
      latency_ms: { local: ms(merge(signaled.map((r) => r.result.latency.local))), remote: ms(merge(signaled.map((r) => r.result.latency.remote))) },
      negotiation_ms: ms(merge(signaled.map((r) => r.result.negotiationMs))),
      drops: sig.drops, node_loop_delay_ms: sig.node_loop_delay_ms, client_loop_delay_ms: sig.client_loop_delay_ms,
    };

    if (opts.relaySec > 0 && opts.relayRate > 0) {
      const openBy = signaled.map((r) => r.common.open);
      const { probeRate } = opts;
      const openBulk = Math.max(1, sum(openBy.filter((_, i) => i !== probeIndex)));
      const rateOf = (w: number): number => (w === probeIndex ? probeRate : ((opts.relayRate - probeRate) * openBy[w]!) / openBulk);
      log(`relay: ${opts.relayRate} frames/s for ${opts.relaySec} s${probeRate ? ` (${probeRate}/s of them from the probe process)` : ''}${opts.wire ? ', captured on the wire' : ''}`);
      const nodeEndpoints = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
      const capture = opts.wire ? await startWireCapture(join(logDir, 'relay.pcap'), nodeEndpoints) : undefined;
      if (capture) cleanups.push({ name: 'wire capture', run: () => capture.stop() });
      const captureFrom = { cpu: capture ? cpuSeconds(capture.pid) : 0, at: performance.now() };
      const rel = await measure('relay', () => pool.run('relay', (w) => ({ kind: 'relay', rate: rateOf(w.index), durationMs: opts.relaySec * 1000, drainMs: 10000, tickMs: opts.sendTickMs }),
        (opts.relaySec + 60) * 1000));
      const captureCpuShare = capture ? (cpuSeconds(capture.pid) - captureFrom.cpu) / ((performance.now() - captureFrom.at) / 1000) : 0;
      const relayed = rel.replies;
      const probe = probeIndex >= 0 ? relayed[probeIndex] : undefined;
      const probeLatency = probe ? { local: ms(merge([probe.result.latency.local])), remote: ms(merge([probe.result.latency.remote])) } : undefined;
      const sent = relayed.reduce((n, r) => n + r.result.sent, 0);
      const received = relayed.reduce((n, r) => n + r.result.received, 0);
      const sendSec = Math.max(...relayed.map((r) => r.result.sendMs)) / 1000;
      const local = merge(relayed.map((r) => r.result.latency.local));
      const remote = merge(relayed.map((r) => r.result.latency.remote));
      const all = merge([local.toJSON(), remote.toJSON()]);
      report['relay'] = {
        target_frames_per_sec: opts.relayRate, calls: relayed.reduce((n, r) => n + r.result.calls, 0), sent, unsent: relayed.reduce((n, r) => n + r.result.unsent, 0),
        received, lost: sent - received, sent_per_sec: Math.round(sent / sendSec), received_per_sec: Math.round(received / sendSec),
        latency_ms: { all: ms(all), local: ms(local), remote: ms(remote) },
        ...(probe ? { probe: {
          calls: probe.result.calls, sent: probe.result.sent, received: probe.result.received,
          latency_ms: probeLatency,
          client_loop_delay_ms: { p99: probe.common.loopDelayMs.p99, max: probe.common.loopDelayMs.max },
        } } : {}),
        server_latency: serverRelay(rel.before, rel.after),
        drops: rel.drops, node_loop_delay_ms: rel.node_loop_delay_ms, client_loop_delay_ms: rel.client_loop_delay_ms,
        ...(capture ? { wire: await wireReport(capture, nodeEndpoints.map((e) => `${e.host}:${e.port}`), captureCpuShare) } : {}),
      };
      log(`relay: ${received}/${sent} frames, p99 local ${ms(local).p99} ms, remote ${ms(remote).p99} ms${probeLatency ? `; probe p99 local ${probeLatency.local.p99} ms, remote ${probeLatency.remote.p99} ms` : ''}`);
    }

    if (opts.pingSec > 0) {
      log(`pings: every ${opts.pingEveryMs} ms per socket for ${opts.pingSec} s`);
      const png = await measure('pings', () => pool.run('pings', () => ({ kind: 'pings', everyMs: opts.pingEveryMs, durationMs: opts.pingSec * 1000, timeoutMs: 30000 * opts.timeScale }), (opts.pingSec + 90) * 1000));
      const pinged = png.replies;
      const pingWall = Math.max(...pinged.map((r) => r.common.wallMs)) / 1000;
      const sentPings = pinged.reduce((n, r) => n + r.result.sent, 0);
      report['pings'] = {
        sent: sentPings, ok: pinged.reduce((n, r) => n + r.result.ok, 0), failures: sumReasons(pinged.map((r) => r.result.failures)),
        per_sec: Math.round(sentPings / pingWall), rtt_ms: ms(merge(pinged.map((r) => r.result.rttMs))),
        drops: png.drops, node_loop_delay_ms: png.node_loop_delay_ms, client_loop_delay_ms: png.client_loop_delay_ms,
      };
    }

    log(`hangup: ${opts.ramp} calls/s`);
    const hng = await measure('hangup', () => pool.run('hangup', () => ({ kind: 'hangup', rate: opts.ramp / pool.workers.length, timeoutMs: 30000 * opts.timeScale }), (active / opts.ramp + 90) * 1000));
    const hung = hng.replies;
    report['hangup'] = {
      calls: hung.reduce((n, r) => n + r.result.calls, 0), completed: hung.reduce((n, r) => n + r.result.completed, 0),
      failures: sumReasons(hung.map((r) => r.result.failures)), hangup_ms: ms(merge(hung.map((r) => r.result.hangupMs))),
      node_loop_delay_ms: hng.node_loop_delay_ms,
    };

    report['cpu'] = meter.report();
    machine['load_after'] = loadavg().map((n) => Math.round(n * 100) / 100);
    report['targets'] = targets(report, opts);
  } catch (err) {
    report['error'] = (err as Error).message;
    log(`failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
  process.stderr.write(`\n${summary(report)}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exit(report['error'] ? 1 : 0);
}

function get(report: Record<string, unknown>, path: string): any {
  return path.split('.').reduce<any>((o, k) => (o === undefined || o === null ? undefined : o[k]), report);
}

/**
 * Relay latency from the capture: every relay frame from its arrival at a node's endpoint to its
 * copy leaving one (`WireRelayLatency`), with the capture's own losses and CPU (`cpuShare`: tcpdump's
 * CPU seconds per second of the phase) so a reader can tell whether it covered the phase.
 */
async function wireReport(capture: WireCapture, nodeEndpoints: string[], cpuShare: number): Promise<Record<string, unknown>> {
  const counts = await capture.stop();
  const pcap = readFileSync(capture.file);
  const mib = Math.round(pcap.length / 2 ** 20);
  const wire = new WireRelayLatency(new Set(nodeEndpoints), relayFrameKey);
  const read = readWebSocketFrames(pcap, (frame) => wire.add(frame));
  const all = merge([wire.local.toJSON(), wire.remote.toJSON()]);
  log(`wire: ${wire.matched} relayed frames timed from ${read.packets} packets (${mib} MiB); p99 local ${ms(wire.local).p99} ms, remote ${ms(wire.remote).p99} ms`);
  return {
    latency_ms: { all: ms(all), local: ms(wire.local), remote: ms(wire.remote) },
    matched: wire.matched, unmatched: wire.unmatched, undelivered: wire.undelivered, duplicates: wire.duplicates,
    packets: read.packets, skipped: read.skipped, frames: read.frames, gaps: read.gaps, resyncs: read.resyncs,
    captured: counts.captured, dropped_by_kernel: counts.droppedByKernel, capture_mib: mib,
    capture_cpu_pct: Math.round(cpuShare * 1000) / 10,
  };
}

/** The issue's targets, judged from this run (null when the run did not measure it). */
function targets(report: Record<string, unknown>, opts: Options): Record<string, unknown> {
  const relayOk = (get(report, 'relay.received_per_sec') ?? 0) >= 0.95 * opts.relayRate;
  const local = get(report, 'relay.latency_ms.local.p99') as number | null | undefined;
  const remote = get(report, 'relay.latency_ms.remote.p99') as number | null | undefined;
  const probeLocal = get(report, 'relay.probe.latency_ms.local.p99') as number | null | undefined;
  const probeRemote = get(report, 'relay.probe.latency_ms.remote.p99') as number | null | undefined;
  const wireLocal = get(report, 'relay.wire.latency_ms.local.p99') as number | null | undefined;
  const wireRemote = get(report, 'relay.wire.latency_ms.remote.p99') as number | null | undefined;
  const under = (v: number | null | undefined, limit: number): boolean | null => (v === null || v === undefined ? null : v < limit);
  const perSocket = get(report, 'memory.rss_kib_per_idle_socket') as number;
  return {
    sockets_20000_on_one_node: opts.nodes === 1 ? (get(report, 'sockets.held') ?? 0) >= 20000 : null,
    rss_per_idle_socket_le_8_kib: opts.nodes === 1 ? perSocket <= 8 : null,
    relay_rate_reached: get(report, 'relay') ? relayOk : null,
    relay_p99_local_under_10_ms: under(local, 10),
    relay_p99_remote_under_20_ms: under(remote, 20),
    probe_relay_p99_local_under_10_ms: under(probeLocal, 10),
    probe_relay_p99_remote_under_20_ms: under(probeRemote, 20),
    wire_relay_p99_local_under_10_ms: under(wireLocal, 10),
    wire_relay_p99_remote_under_20_ms: under(wireRemote, 20),
  };
}

function summary(report: Record<string, unknown>): string {
  const fmt = (v: unknown) => (v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const lat = (path: string) => {
    const p = get(report, path) as { p50: number | null; p99: number | null; max: number | null; count: number } | undefined;
    return p ? `p50 ${fmt(p.p50)} / p99 ${fmt(p.p99)} / max ${fmt(p.max)} ms (n=${p.count})` : '–';
  };
  const cpu = get(report, 'cpu') as Record<string, PhaseCpu> | undefined;
  const lines = [
    `signal bench: ${fmt(get(report, 'config.calls'))} calls, ${fmt(get(report, 'config.nodes'))} node(s), ${fmt(get(report, 'config.workers'))} worker(s); db ${fmt(get(report, 'config.database'))}; load ${fmt(get(report, 'machine.load_before'))} → ${fmt(get(report, 'machine.load_after'))}`,
    `sockets held      ${fmt(get(report, 'sockets.held'))} of ${fmt(get(report, 'sockets.target'))} (fds open per node ${fmt(get(report, 'sockets.per_node_fds_open'))})`,
    `setup             ${fmt(get(report, 'setup.active'))} active, failures ${fmt(get(report, 'setup.failures'))}, retries ${fmt(get(report, 'setup.retries'))}; ${lat('setup.setup_ms')}`,
    `RSS / idle socket ${fmt(get(report, 'memory.rss_kib_per_idle_socket'))} KiB (marginal half→full ${fmt(get(report, 'memory.rss_kib_per_idle_socket_marginal'))}, upper bound ${fmt(get(report, 'memory.rss_kib_per_idle_socket_upper'))}); node RSS MiB fresh ${fmt(get(report, 'memory.node_rss_mib_fresh'))} full ${fmt(get(report, 'memory.node_rss_mib_full'))} (peak ${fmt(get(report, 'memory.node_rss_mib_full_peak'))})`,
    `signaling         ${fmt(get(report, 'signaling.completed'))}/${fmt(get(report, 'signaling.calls'))} calls, ${fmt(get(report, 'signaling.frames_per_sec'))} frames/s; local ${lat('signaling.latency_ms.local')}; remote ${lat('signaling.latency_ms.remote')}`,
    `relay             ${fmt(get(report, 'relay.received'))}/${fmt(get(report, 'relay.sent'))} frames at ${fmt(get(report, 'relay.received_per_sec'))}/s (target ${fmt(get(report, 'relay.target_frames_per_sec'))})`,
    `  client local    ${lat('relay.latency_ms.local')}`,
    `  probe local     ${lat('relay.probe.latency_ms.local')}; probe remote ${lat('relay.probe.latency_ms.remote')}`,
    `  client remote   ${lat('relay.latency_ms.remote')}`,
    `  wire local      ${lat('relay.wire.latency_ms.local')}; wire remote ${lat('relay.wire.latency_ms.remote')}`,
    `  server          ${fmt(get(report, 'relay.server_latency'))}`,
    `  loop delay      node(s) ${fmt(get(report, 'relay.node_loop_delay_ms'))}, client workers ${fmt(get(report, 'relay.client_loop_delay_ms'))} ms`,
    `pings             ${fmt(get(report, 'pings.ok'))}/${fmt(get(report, 'pings.sent'))}; rtt ${lat('pings.rtt_ms')}`,
    `hangup            ${fmt(get(report, 'hangup.completed'))}/${fmt(get(report, 'hangup.calls'))}; ${lat('hangup.hangup_ms')}`,
    ...(cpu ? Object.entries(cpu).map(([phase, c]) => `cpu ${phase.padEnd(13)} ${c.wall_sec} s: node(s) ${c.node_cpu_pct.join('/')} %, workers ${c.workers_cpu_pct} %, database ${c.database_cpu_pct} %, redis ${c.redis_cpu_pct ?? '–'} %, machine ${c.machine_busy_pct} % busy (${c.machine_steal_pct} % stolen)`) : []),
    ...(cpu?.['relay'] ? [`run queue (relay) main threads waited for a CPU ${cpu['relay'].runqueue_wait_pct.nodes.join('/')} % (nodes), ${cpu['relay'].runqueue_wait_pct.workers.join('/')} % (client processes, probe last), ${cpu['relay'].runqueue_wait_pct.redis ?? '–'} % (redis) of the phase`] : []),
    `targets           ${fmt(get(report, 'targets'))}`,
    ...((get(report, 'notes') as string[] | undefined) ?? []).map((n) => `note: ${n}`),
    ...(report['error'] ? [`ERROR: ${fmt(report['error'])}`] : []),
  ];
  return lines.join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
