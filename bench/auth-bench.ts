import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApi } from '../api/main.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../shared/runtime/logger.js';
import { connectMongo } from '../shared/runtime/mongo/connect.js';
import { resolveMongo } from '../shared/runtime/mongo/resolve.js';
import { loadKeyRing } from '../shared/tokens/index.js';

interface Phase {
  name: string;
  count: number;
  seconds: number;
  latenciesMs: number[];
  errors: number;
}

const USAGE = `Usage: node dist/bench/auth-bench.js [--logins N] [--refreshes N] [--me N] [--concurrency C] [--users U]

Starts the API in-process on the embedded database (or MONGO_URL) and measures, one phase at a
time with at most C requests in flight: password logins (argon2id with the configured ARGON2_*
parameters), refresh-token rotations, and authenticated GET /v1/users/me.`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Runs `count` calls of `task` with at most `concurrency` in flight; each worker may keep state. */
async function runPhase<S>(name: string, count: number, concurrency: number, init: (worker: number) => S, task: (state: S) => Promise<boolean>): Promise<Phase> {
  const latenciesMs: number[] = [];
  let next = 0;
  let errors = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async (_, worker) => {
    const state = init(worker);
    while (next < count) {
      next += 1;
      const t0 = process.hrtime.bigint();
      const ok = await task(state).catch(() => false);
      latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!ok) errors += 1;
    }
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latenciesMs.sort((a, b) => a - b);
  process.stderr.write(`${name}: ${count} in ${seconds.toFixed(1)} s\n`);
  return { name, count, seconds, latenciesMs, errors };
}

async function post(url: string, body: unknown, bearer?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      logins: { type: 'string', default: '100' }, refreshes: { type: 'string', default: '500' }, me: { type: 'string', default: '3000' },
      concurrency: { type: 'string', default: '8' }, users: { type: 'string', default: '8' }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) { console.log(USAGE); return; }
  const n = (v: string) => { const x = Number(v); if (!Number.isInteger(x) || x < 1) throw new Error(`not a positive integer: ${v}`); return x; };
  const [logins, refreshes, meCount, concurrency, userCount] = [n(values.logins), n(values.refreshes), n(values.me), n(values.concurrency), n(values.users)];

  const dataDir = mkdtempSync(join(tmpdir(), 'vidivo-auth-bench-'));
  const unlimited = JSON.stringify(Object.fromEntries(['login', 'register', 'password_reset', 'authenticated', 'unauthenticated'].map((r) => [r, { points: 1e9, durationSec: 60 }])));
  const config = loadConfig({ envFile: null, env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', API_PORT: '0', DATA_DIR: dataDir, RATE_LIMITS: unlimited, REDIS_URL: '' } });
  const log = createLogger({ level: 'silent' });
  const mongo = await resolveMongo({ url: config.mongo.url, dataDir, ephemeral: true, ferretPostgresUrl: config.mongo.ferretPostgresUrl });
  const database = `auth_bench_${Date.now()}`;
  const handle = await connectMongo(mongo.url, database);
  const keyRing = loadKeyRing(join(dataDir, 'keys'), { generateIfEmpty: true });
  const api = await startApi({ config, log, db: handle.db, keyRing });
  const base = `http://127.0.0.1:${api.port}`;
  try {
    const users = await Promise.all(Array.from({ length: userCount }, async (_, i) => {
      const email = `bench-${i}@example.com`;
      const res = await post(`${base}/v1/auth/register`, { email, password: 'Bench-Password-1' });
      if (res.status !== 201) throw new Error(`register failed: ${res.status}`);
      return { email, access: res.json.access_token as string, refresh: res.json.refresh_token as string };
    }));

    const phases: Phase[] = [];
    phases.push(await runPhase('POST /v1/auth/login', logins, concurrency, (w) => users[w % users.length]!, async (u) => {
      const res = await post(`${base}/v1/auth/login`, { email: u.email, password: 'Bench-Password-1' });
      return res.status === 200;
    }));
    phases.push(await runPhase('POST /v1/auth/refresh', refreshes, concurrency, (w) => ({ ...users[w % users.length]!, chain: '' }), async (s) => {
      if (!s.chain) s.chain = (await post(`${base}/v1/auth/login`, { email: s.email, password: 'Bench-Password-1' })).json.refresh_token;
      const res = await post(`${base}/v1/auth/refresh`, { refresh_token: s.chain });
      if (res.status !== 200) return false;
      s.chain = res.json.refresh_token;
      return true;
    }));
    phases.push(await runPhase('GET /v1/users/me', meCount, concurrency, (w) => users[w % users.length]!, async (u) => {
      const res = await fetch(`${base}/v1/users/me`, { headers: { Authorization: `Bearer ${u.access}` } });
      await res.arrayBuffer();
      return res.status === 200;
    }));

    const { memoryKiB, timeCost, parallelism } = config.auth.argon2;
    console.log(`auth benchmark: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, database ${mongo.source} (${mongo.reason}), argon2id m=${memoryKiB} KiB t=${timeCost} p=${parallelism}, UV_THREADPOOL_SIZE=${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'}, concurrency ${concurrency}`);
    console.log('| operation | requests | errors | req/s | p50 ms | p99 ms |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const p of phases) {
      console.log(`| ${p.name} | ${p.count} | ${p.errors} | ${(p.count / p.seconds).toFixed(1)} | ${percentile(p.latenciesMs, 50).toFixed(2)} | ${percentile(p.latenciesMs, 99).toFixed(2)} |`);
    }
    if (phases.some((p) => p.errors > 0)) process.exitCode = 1;
  } finally {
    await api.close();
    await handle.db.dropDatabase().catch(() => undefined);
    await handle.close();
    await mongo.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error('auth bench failed:', err);
  process.exit(1);
});
