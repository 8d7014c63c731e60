/**
 * Signaling benchmark: N concurrent 1:1 calls (2 sockets each) against 1 or 2 real signal node
 * processes. Each call: join → offer → answer → 10 candidates each way → pings for PING_SEC →
 * hangup. Reports sockets held, setup time and relay latency p50/p99, relayed frames/s, server
 * RSS per idle socket and server CPU.
 *
 *   npm run build && node dist/bench/signal-bench.js --calls 500 --nodes 2 --ping-sec 10
 *
 * Needs MONGO_URL (or it resolves an embedded database) and REDIS_URL (or spawns redis-server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MongoCallStore } from '../shared/calls/index.js';
import { newId } from '../shared/ids.js';
import { connectMongo } from '../shared/runtime/mongo/connect.js';
import { resolveMongo } from '../shared/runtime/mongo/resolve.js';
import { freePort, waitForPort } from '../shared/runtime/net.js';
import { PROJECT_ROOT } from '../shared/runtime/paths.js';
import { spawnRedis } from '../shared/runtime/redis-server.js';
import { generateKeyFile, loadKeyRing, signToken } from '../shared/tokens/index.js';
import { SignalClient, type Frame } from '../test/helpers/ws-client.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '200' },
    nodes: { type: 'string', default: '1' },
    'ping-sec': { type: 'string', default: '60' },
    'ping-every-ms': { type: 'string', default: '1000' },
  },
});
const CALLS = Number(args.calls);
const NODES = Number(args.nodes);
const PING_SEC = Number(args['ping-sec']);
const PING_EVERY = Number(args['ping-every-ms']);
const now = (): number => performance.timeOrigin + performance.now();

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function startNode(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'scripts', 'cli.js'), 'signal'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn', ...env, SIGNAL_PORT: String(port) }, stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort('127.0.0.1', port, 60000);
  return { child, port };
}

/** p50/p99 (bucket upper bounds) of the nodes' own relay histogram, receipt → send. */
async function serverRelay(ports: number[]): Promise<Record<string, { p50: number; p99: number; count: number }>> {
  const buckets = new Map<string, Map<number, number>>();
  for (const port of ports) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const m of text.matchAll(/signal_relay_latency_seconds_bucket\{le="([^"]+)",path="(\w+)"\} (\d+)/g)) {
      const path = m[2]!;
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      const byLe = buckets.get(path) ?? new Map<number, number>();
      byLe.set(le, (byLe.get(le) ?? 0) + Number(m[3]));
      buckets.set(path, byLe);
    }
  }
  const out: Record<string, { p50: number; p99: number; count: number }> = {};
  for (const [path, byLe] of buckets) {
    const sorted = [...byLe].sort((a, b) => a[0] - b[0]);
    const total = sorted[sorted.length - 1]![1];
    const q = (p: number) => (sorted.find(([, c]) => c >= total * p)?.[0] ?? Infinity) * 1000;
    out[path] = { p50: q(0.5), p99: q(0.99), count: total };
  }
  return out;
}

async function main(): Promise<void> {
  const keysDir = join(mkdtempSync(join(tmpdir(), 'vidivo-bench-')), 'keys');
  generateKeyFile(keysDir);
  const ring = loadKeyRing(keysDir, { generateIfEmpty: false });
  const redis = process.env.REDIS_URL ? undefined : await spawnRedis();
  const redisUrl = process.env.REDIS_URL ?? redis!.url;
  const mongo = await resolveMongo({ url: process.env.MONGO_URL, dataDir: '.data/bench', ephemeral: true });
  const database = `bench_${newId().toLowerCase()}`;
  const handle = await connectMongo(mongo.url, database);
  const store = new MongoCallStore(handle.db);
  const env = {
    REDIS_URL: redisUrl, REDIS_PREFIX: `bench${newId().slice(-6)}`, MONGO_URL: mongo.url, MONGO_DB: database, JWT_KEYS_DIR: keysDir,
    SIGNAL_MAX_SOCKETS_PER_USER: '10', SIGNAL_RATE_PER_SEC: '1000', SIGNAL_RATE_BURST: '1000', SIGNAL_IDLE_TIMEOUT_MS: '3600000',
    SIGNAL_JOIN_TIMEOUT_MS: '60000', STUN_URLS: '[]',
  };
  process.stderr.write(`database ${mongo.source}; starting ${NODES} node(s)\n`);
  const nodes = await Promise.all(Array.from({ length: NODES }, (_, i) => startNode({ ...env, NODE_ID: `bench-${i}` })));
  const rssBefore = nodes.map((n) => rssKiB(n.child.pid!));
  const cpuBefore = nodes.map((n) => cpuTicks(n.child.pid!));
  const t0 = Date.now();

  const latencies: number[] = [];
  const setups: number[] = [];
  let relayed = 0;
  const onRelay = (f: Frame): void => {
    const ts = Number(String(f.data?.sdp ?? f.data?.candidate?.candidate ?? '').split(' ts=')[1]);
    if (Number.isFinite(ts)) {
      latencies.push(now() - ts);
      relayed += 1;
    }
  };
  const pairs: Array<{ host: SignalClient; guest: SignalClient }> = [];
  const failures: string[] = [];
  const batch = Number(process.env.BENCH_BATCH ?? 50);
  let rssHalf: number[] = [];
  let socketsHalf = 0;
  for (let i = 0; i < CALLS; i += batch) {
    if (i >= CALLS / 2 && socketsHalf === 0) {
      await new Promise((r) => setTimeout(r, 1000));
      rssHalf = nodes.map((n) => rssKiB(n.child.pid!));
      socketsHalf = pairs.length * 2;
    }
    await Promise.allSettled(Array.from({ length: Math.min(batch, CALLS - i) }, async (_, j) => {
      const at = new Date();
      const call = await store.create({
        id: newId(), link_id: newId(), short_code: newId().slice(-8), host_id: `h_${newId()}`, guest_id: `g_${newId()}`, guest_role: 'user',
        status: 'waiting', end_reason: null, rate: { amount: 100, currency: 'usd' }, max_duration_sec: null,
        created_at: at, ringing_at: null, answered_at: null, ended_at: null, updated_at: at, version: 0,
      });
      const token = async (peer: 'host' | 'guest') => (await signToken(ring, { role: 'user', call_id: call.id, peer }, {
        issuer: 'api.vidivo.app', audience: 'signal', subject: peer === 'host' ? call.host_id : call.guest_id, ttlSec: 3600,
      })).token;
      const started = now();
      const n = (i + j) % NODES;
      const host = await SignalClient.connect(`ws://127.0.0.1:${nodes[n]!.port}`, await token('host'), { keep: false });
      const guest = await SignalClient.connect(`ws://127.0.0.1:${nodes[(n + 1) % NODES]!.port}`, await token('guest'), { keep: false });
      const active = Promise.all([host, guest].map((c) => c.next((f) => f.type === 'call-state' && f.data.status === 'active', 60000)));
      active.catch(() => undefined);
      await Promise.all([host.join(), guest.join()]).catch((err: unknown) => {
        failures.push(`join: ${String(err).slice(0, 80)} host=${JSON.stringify(host.closeInfo)} guest=${JSON.stringify(guest.closeInfo)}`);
        host.kill();
        guest.kill();
        throw err;
      });
      await active.catch((err: unknown) => {
        failures.push(`${String(err).slice(0, 120)} host=${JSON.stringify(host.closeInfo)} guest=${JSON.stringify(guest.closeInfo)}`);
        throw err;
      });
      setups.push(now() - started);
      for (const c of [host, guest]) c.onFrame = (f) => { if (f.type === 'offer' || f.type === 'answer' || f.type === 'ice-candidate') onRelay(f); };
      pairs.push({ host, guest });
    }));
  }
  const sockets = pairs.length * 2;
  process.stderr.write(`${pairs.length} calls active\n`);
  await new Promise((r) => setTimeout(r, 2000));
  const rssIdle = nodes.map((n) => rssKiB(n.child.pid!));
  const relayStart = now();
  await Promise.all(pairs.map(async ({ host, guest }) => {
    const answered = guest.next((f) => f.type === 'offer', 60000);
    host.send({ type: 'offer', data: { sdp: `v=0 bench ts=${now()}` } });
    await answered;
    const done = host.next((f) => f.type === 'answer', 60000);
    guest.send({ type: 'answer', data: { sdp: `v=0 bench ts=${now()}` } });
    await done;
    for (let k = 0; k < 10; k += 1) {
      host.send({ type: 'ice-candidate', data: { candidate: { candidate: `candidate:${k} 1 udp 1 127.0.0.1 ${9000 + k} typ host ts=${now()}`, sdpMid: '0', sdpMLineIndex: 0 } } });
      guest.send({ type: 'ice-candidate', data: { candidate: { candidate: `candidate:${k} 1 udp 1 127.0.0.1 ${9100 + k} typ host ts=${now()}`, sdpMid: '0', sdpMLineIndex: 0 } } });
    }
  }));
  await new Promise((r) => setTimeout(r, 500));
  const relaySec = (now() - relayStart) / 1000;
  const relayCount = relayed;
  const pingRtts: number[] = [];
  const pingEnd = Date.now() + PING_SEC * 1000;
  await Promise.all(pairs.map(async ({ host, guest }) => {
    await new Promise((r) => setTimeout(r, Math.random() * PING_EVERY));
    while (Date.now() < pingEnd) {
      const t = now();
      await Promise.all([host.request('ping', {}, 30000), guest.request('ping', {}, 30000)]);
      pingRtts.push(now() - t);
      await new Promise((r) => setTimeout(r, PING_EVERY));
    }
  }));
  let hungUp = 0;
  const hangups = Promise.all(pairs.map(async ({ host, guest }) => {
    const closed = Promise.all([host.closed, guest.closed]);
    guest.send({ type: 'hangup' });
    await closed;
    hungUp += 1;
  }));
  await Promise.race([hangups, new Promise((r) => setTimeout(r, 30000))]);
  const cpuSec = nodes.map((n, i) => (cpuTicks(n.child.pid!) - cpuBefore[i]!) / 100);
  const wallSec = (Date.now() - t0) / 1000;
  const report = {
    calls: CALLS, nodes: NODES, sockets_held: sockets, failed_setups: failures.length, first_failures: failures.slice(0, 3),
    setup_ms: { p50: pct(setups, 50), p99: pct(setups, 99) },
    relay_latency_ms: { p50: pct(latencies, 50), p99: pct(latencies, 99), frames: relayCount },
    relay_frames_per_sec: Math.round(relayCount / relaySec),
    ping_rtt_ms: { p50: pct(pingRtts, 50), p99: pct(pingRtts, 99), count: pingRtts.length },
    rss_kib_per_idle_socket_marginal: socketsHalf ? nodes.reduce((sum, _, i) => sum + (rssIdle[i]! - rssHalf[i]!), 0) / (sockets - socketsHalf) : NaN,
    rss_kib_per_idle_socket_total: nodes.reduce((sum, _, i) => sum + (rssIdle[i]! - rssBefore[i]!), 0) / sockets,
    server_relay_latency_ms: await serverRelay(nodes.map((n) => n.port)),
    server_rss_mib_idle: rssIdle.map((k) => Math.round(k / 1024)),
    hangups_completed: hungUp,
    server_cpu_sec: cpuSec, wall_sec: wallSec,
    server_cpu_pct: cpuSec.map((c) => Math.round((c / wallSec) * 100)),
  };
  console.log(JSON.stringify(report, null, 2));
  for (const n of nodes) n.child.kill('SIGKILL');
  for (const { host, guest } of pairs) { host.kill(); guest.kill(); }
  await handle.close();
  await mongo.stop();
  await redis?.stop();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
