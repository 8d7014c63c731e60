import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBilling } from '../api/services/payments/billing.js';
import { loadConfig } from '../config/index.js';
import { MinuteRecorder, MongoMinuteStore, type MinuteRecord } from '../shared/billing/index.js';
import { MongoCallStore } from '../shared/calls/index.js';
import { newId } from '../shared/ids.js';
import { createLogger } from '../shared/runtime/logger.js';
import { connectMongo } from '../shared/runtime/mongo/connect.js';
import { resolveMongo } from '../shared/runtime/mongo/resolve.js';
import { generateKeyFile } from '../shared/tokens/index.js';
import { startProductProcess } from '../test/helpers/product-process.js';
import { createScratchPostgres } from '../test/helpers/postgres.js';
import { startStripeFaultProxy } from '../test/helpers/stripe-fault-proxy.js';
import { startStripeMock, STRIPE_TEST_KEY } from '../test/helpers/stripe-mock.js';
import { cpuSeconds } from './proc-stats.js';

const USAGE = `Usage: node dist/bench/billing-bench.js [--calls N] [--tick-ms T] [--run-sec D] [--recorders R] [--setup-concurrency C] [--poll-ms P] [--batch B] [--json]

The billing consumer under N concurrent paid calls. Set up through the real services: each call is
stored as the calls API does and its hold placed by the API's HoldService on stripe-mock (behind a
counting proxy). Ticks are not produced by WebSocket clients: R simulated signal nodes, each the
real MinuteRecorder writing to the real minute store, record minute k of every call at
start + k × T (calls spread evenly over T), as the nodes' tick sweeps would. One API process
(node dist/scripts/cli.js api) runs the billing worker. After D seconds every call is ended and
settled. Reports: minutes applied per second, lag from a minute's end (and from its record) to its
ledger row p50/p99, Stripe requests per call-hour (a call-hour is 60 billed minutes), the API
process's CPU, the load average.`;

/**
 * PostgreSQL connections the bench's FerretDB may open (the PostgreSQL server may be shared), and
 * the MongoDB connections of the API process and of the bench: FerretDB deadlocks when more
 * requests than its pool are in flight, so the clients' pools stay well below it.
 */
const PG_POOL_MAX = 30;
const API_MONGO_POOL = 8;
const BENCH_MONGO_POOL = 4;

interface Options { calls: number; tickMs: number; runSec: number; recorders: number; setupConcurrency: number; pollMs: number; batch: number; json: boolean }

function options(): Options {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '1000' }, 'tick-ms': { type: 'string', default: '10000' }, 'run-sec': { type: 'string', default: '60' },
      recorders: { type: 'string', default: '2' }, 'setup-concurrency': { type: 'string', default: '32' },
      'poll-ms': { type: 'string', default: '1000' }, batch: { type: 'string', default: '200' },
      json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: keyof typeof values, min: number, max: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) {
      process.stderr.write(`--${name} must be an integer in [${min}, ${max}]\n\n${USAGE}\n`);
      process.exit(2);
    }
    return n;
  };
  return {
    calls: int('calls', 1, 100_000), tickMs: int('tick-ms', 100, 600_000), runSec: int('run-sec', 1, 3600), recorders: int('recorders', 1, 16),
    setupConcurrency: int('setup-concurrency', 1, 1000), pollMs: int('poll-ms', 10, 60_000), batch: int('batch', 1, 100_000), json: values.json === true,
  };
}

const log = (line: string): void => { process.stderr.write(`[billing-bench] ${line}\n`); };
const loadavg = async (): Promise<string> => (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').trim();

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function inParallel<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

async function main(): Promise<void> {
  const opts = options();
  const cleanups: Array<() => Promise<void> | void> = [];
  const silent = createLogger({ level: 'silent' });
  try {
    const scratch = process.env['MONGO_URL'] || process.env['FERRETDB_POSTGRESQL_URL'] ? undefined : createScratchPostgres();
    if (scratch) cleanups.push(() => scratch.drop());
    // A bounded PostgreSQL pool for FerretDB: the PostgreSQL server may be shared (max_connections).
    const pgUrl = process.env['FERRETDB_POSTGRESQL_URL'] ?? (scratch ? `${scratch.url}${scratch.url.includes('?') ? '&' : '?'}pool_max_conns=${PG_POOL_MAX}` : undefined);
    const mongo = await resolveMongo({ url: process.env['MONGO_URL'], dataDir: '.data/bench', ephemeral: true, ferretPostgresUrl: pgUrl });
    cleanups.push(() => mongo.stop());
    const database = `billing_bench_${Date.now().toString(36)}`;
    const withPool = (url: string, size: number): string => { const u = new URL(url); u.searchParams.set('maxPoolSize', String(size)); return u.toString(); };
    const handle = await connectMongo(withPool(mongo.url, BENCH_MONGO_POOL), database, 30000);
    cleanups.push(async () => { await handle.db.dropDatabase().catch(() => undefined); await handle.close(); });
    const mock = await startStripeMock();
    cleanups.push(() => mock.stop());
    const proxy = await startStripeFaultProxy(mock.url);
    cleanups.push(() => proxy.close());
    const keysDir = join(mkdtempSync(join(tmpdir(), 'vidivo-billing-bench-')), 'keys');
    generateKeyFile(keysDir);
    const env: Record<string, string> = {
      MONGO_URL: withPool(mongo.url, API_MONGO_POOL), MONGO_DB: database, JWT_KEYS_DIR: keysDir, DATA_DIR: join(keysDir, '..'), LOG_LEVEL: 'info',
      STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: proxy.url, STRIPE_MAX_NETWORK_RETRIES: '0', BILLING_POLL_MS: String(opts.pollMs),
      BILLING_BATCH: String(opts.batch), BILLING_SETTLE_DELAY_MS: '2000', ...Object.fromEntries((process.env['BENCH_API_ENV'] ?? '').split(/\s+/).filter(Boolean).map((kv) => kv.split('=', 2) as [string, string])),
    };
    log(`database ${mongo.source} on ${database}; ${opts.calls} calls, tick ${opts.tickMs} ms, ${opts.runSec} s, ${opts.recorders} recorder(s); load ${await loadavg()}`);

    // Setup, before the worker runs: calls stored active, holds placed through the real HoldService.
    const config = loadConfig({ envFile: null, env: { NODE_ENV: 'test', ...env, LOG_LEVEL: 'silent' } });
    const billing = await createBilling({ config, db: handle.db, log: silent });
    const calls = new MongoCallStore(handle.db);
    const setupStart = Date.now();
    const callIds = Array.from({ length: opts.calls }, () => newId());
    const startOf = new Map<string, number>();
    const hostOf = new Map<string, string>();
    const guestOf = new Map<string, string>();
    await inParallel(callIds, opts.setupConcurrency, async (id) => {
      const hostId = newId();
      const guestId = `gs_${newId().toLowerCase()}`;
      const at = new Date();
      const payment = await billing.holds.place({ callId: id, guestId, hostId, rate: { amount: 300, currency: 'USD' }, paymentMethod: 'pm_card_visa' });
      await calls.create({
        id, link_id: newId(), short_code: id.slice(-8), host_id: hostId, guest_id: guestId, guest_role: 'guest', status: 'active', end_reason: null,
        rate: { amount: 300, currency: 'USD' }, max_duration_sec: null, created_at: at, ringing_at: at, answered_at: at, ended_at: null, media_up_at: at, media_up_by: null, ended_by: null, updated_at: at, version: 0,
      });
      await billing.holds.attached(payment, opts.pollMs);
      hostOf.set(id, hostId);
      guestOf.set(id, guestId);
    });
    const setupMs = Date.now() - setupStart;
    const setupRequests = proxy.requests.length;
    log(`setup: ${opts.calls} calls and holds in ${(setupMs / 1000).toFixed(1)} s (${setupRequests} Stripe requests); load ${await loadavg()}`);

    const api = await startProductProcess('api', env, 120000);
    cleanups.push(async () => { api.kill('SIGTERM'); await api.exited; });
    const apiPid = api.child.pid!;

    // Ticks, as the signal nodes record them: R recorders, calls spread over them.
    const recorders = Array.from({ length: opts.recorders }, (_, r) => new MinuteRecorder({
      sink: new MongoMinuteStore(handle.db), log: silent.child({ recorder: r }), retryMs: 1000, maxQueued: 1_000_000,
    }));
    const lastMinute = new Map<string, number>(callIds.map((id) => [id, 0]));
    const runStart = Date.now();
    // Call i's minute k ends at runStart + (i / N + k) × T: the minutes arrive evenly, not in bursts.
    callIds.forEach((id, i) => startOf.set(id, runStart + Math.floor((i * opts.tickMs) / opts.calls)));
    const runEnd = runStart + opts.runSec * 1000;
    const cpu0 = cpuSeconds(apiPid);
    let recorded = 0;
    const loads: string[] = [];
    while (Date.now() < runEnd) {
      const now = Date.now();
      callIds.forEach((id, i) => {
        const start = startOf.get(id)!;
        const due = Math.floor((now - start) / opts.tickMs);
        for (let m = lastMinute.get(id)! + 1; m <= due; m += 1) {
          const minute: MinuteRecord = {
            callId: id, minute: m, at: new Date(start + m * opts.tickMs), hostId: hostOf.get(id)!, guestId: guestOf.get(id)!, reconnecting: [], late: false, node: `bench-${i % opts.recorders}`,
          };
          recorders[i % opts.recorders]!.record(minute);
          recorded += 1;
          lastMinute.set(id, m);
        }
      });
      if (loads.length < Math.floor((now - runStart) / 10000) + 1) {
        loads.push(await loadavg());
        const backlog = recorders.reduce((s, r) => s + r.backlog, 0);
        const applied = await handle.db.collection('billed_minutes').countDocuments({});
        log(`t=${((now - runStart) / 1000).toFixed(0)} s: ${recorded} minutes recorded (${backlog} queued in recorders), ${applied} applied; load ${loads.at(-1)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const cpuRun = cpuSeconds(apiPid) - cpu0;
    const runWall = (Date.now() - runStart) / 1000;
    // End every call (as a hangup would) and wait for the rest of the minutes and the settlements.
    const endAt = new Date();
    await inParallel(callIds, opts.setupConcurrency, async (id) => { await calls.transition(id, 'ended', { reason: 'hangup', at: endAt }); });
    await Promise.all(recorders.map((r) => r.close()));
    const drainStart = Date.now();
    const settleDeadline = Date.now() + 600_000;
    let settled = 0;
    while (Date.now() < settleDeadline) {
      settled = await handle.db.collection('payments').countDocuments({ state: 'settled' });
      if (settled === opts.calls) break;
      if ((Date.now() - drainStart) % 10_000 < 1000) {
        const unapplied = await handle.db.collection('minute_ticks').countDocuments({ applied_at: null });
        log(`after the end: ${settled}/${opts.calls} settled, ${unapplied} minutes unapplied; load ${await loadavg()}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const cpuTotal = cpuSeconds(apiPid) - cpu0;
    const drainSec = (Date.now() - drainStart) / 1000;

    // Lag: minute end (`at`) and its record (`recorded_at`) to the ledger row, for minutes of the run.
    const ticks = await handle.db.collection('minute_ticks').find({}, { projection: { _id: 1, at: 1, recorded_at: 1 } }).toArray();
    const ledgerAt = new Map<string, number>();
    for (const row of await handle.db.collection('ledger').find({ kind: 'minute' }, { projection: { _id: 1, created_at: 1 } }).toArray()) {
      ledgerAt.set(String(row._id).slice('minute:'.length), (row.created_at as Date).getTime());
    }
    const fromEnd: number[] = [];
    const fromRecord: number[] = [];
    let appliedInRun = 0;
    for (const t of ticks) {
      const booked = ledgerAt.get(String(t._id));
      if (booked === undefined) continue;
      fromEnd.push(booked - (t.at as Date).getTime());
      fromRecord.push(booked - (t.recorded_at as Date).getTime());
      if (booked <= runStart + runWall * 1000) appliedInRun += 1;
    }
    fromEnd.sort((x, y) => x - y);
    fromRecord.sort((x, y) => x - y);
    const billedMinutes = ledgerAt.size;
    const stripeRequests = proxy.requests.length;
    const callHours = billedMinutes / 60;
    const byPath: Record<string, number> = {};
    for (const r of proxy.requests) {
      const key = `${r.method} ${r.path.replace(/\/(pi|cus|pm|seti|ch|re)_[A-Za-z0-9]+/g, '/:id')}`;
      byPath[key] = (byPath[key] ?? 0) + 1;
    }
    const report = {
      config: { ...opts, database: mongo.source },
      setup: { seconds: setupMs / 1000, stripe_requests: setupRequests },
      run: {
        seconds: runWall, minutes_recorded: recorded, minutes_offered_per_sec: recorded / runWall,
        minutes_applied_during_run: appliedInRun, applied_per_sec: appliedInRun / runWall, loadavg: loads,
      },
      lag_ms: {
        from_minute_end: { p50: percentile(fromEnd, 50), p99: percentile(fromEnd, 99), max: fromEnd.at(-1) ?? NaN, n: fromEnd.length },
        from_record: { p50: percentile(fromRecord, 50), p99: percentile(fromRecord, 99), max: fromRecord.at(-1) ?? NaN },
      },
      settlement: { settled, of: opts.calls, seconds_after_end: drainSec },
      stripe: { requests: stripeRequests, billed_minutes: billedMinutes, call_hours: callHours, per_call_hour: stripeRequests / callHours, by_path: byPath },
      api_cpu: { run_seconds: cpuRun, run_share_of_one_core: cpuRun / runWall, total_seconds: cpuTotal, ms_per_minute: (cpuTotal * 1000) / Math.max(1, billedMinutes) },
      loadavg_end: await loadavg(),
    };
    log(`applied ${appliedInRun} of ${recorded} recorded in ${runWall.toFixed(0)} s (${report.run.applied_per_sec.toFixed(1)}/s of ${report.run.minutes_offered_per_sec.toFixed(1)}/s offered)`);
    log(`lag minute end → ledger: p50 ${report.lag_ms.from_minute_end.p50} ms, p99 ${report.lag_ms.from_minute_end.p99} ms; record → ledger: p50 ${report.lag_ms.from_record.p50} ms, p99 ${report.lag_ms.from_record.p99} ms`);
    log(`settled ${settled}/${opts.calls} in ${drainSec.toFixed(0)} s after the end; Stripe: ${stripeRequests} requests for ${callHours.toFixed(1)} call-hours (${report.stripe.per_call_hour.toFixed(2)} per call-hour) ${JSON.stringify(byPath)}`);
    log(`API CPU: ${cpuRun.toFixed(1)} s during the run (${(report.api_cpu.run_share_of_one_core * 100).toFixed(0)}% of a core), ${report.api_cpu.ms_per_minute.toFixed(2)} ms per billed minute; load ${report.loadavg_end}`);
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch((err: unknown) => log(`cleanup failed: ${String(err)}`));
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
