import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CallPlan } from './call-driver.js';
import { systemClock } from './clock.js';
import type { FromWorker, ToWorker } from './ipc.js';
import { summarizeGenerator } from './generator-usage.js';
import type { LoadtestOptions } from './options.js';
import { coreCount, machineBusyPct, machineCpu, ProcessMeter } from './process-meter.js';
import { RampScheduler } from './scheduler.js';
import type { ReadyHost } from './seed.js';
import { StatsAggregate } from './stats.js';
import { buildSummary, formatStatus, type Summary } from './summary.js';
import type { TokenRefresher } from './token-refresher.js';

const WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url));

interface WorkerHandle {
  child: ChildProcess;
  inFlight: number;
  stopped: Promise<void>;
}

function post(w: WorkerHandle, message: ToWorker): void {
  if (w.child.connected) w.child.send(message);
}

/**
 * Runs the calls: forks `workers` processes, hands each call (host + link + the host's current
 * access token) to the least-loaded worker as the ramp allows, forwards a host's renewed token to
 * the worker running its call, aggregates the workers' stats deltas into a per-second series,
 * prints a status line per second to `status`, and resolves with the summary once every call is over.
 */
export async function runCalls(options: LoadtestOptions, hosts: ReadyHost[], refresher: TokenRefresher, status: (line: string) => void): Promise<Summary> {
  const agg = new StatsAggregate();
  const meter = new ProcessMeter();
  const machineAtStart = machineCpu();
  const plan: CallPlan = {
    durationMs: options.durationMs, pingIntervalMs: options.pingIntervalMs, muteIntervalMs: options.muteIntervalMs,
    candidates: options.candidates, churn: options.churn, churnDelayMs: options.churnDelayMs,
    setupTimeoutMs: options.setupTimeoutMs, requestTimeoutMs: 15_000,
  };
  const workers: WorkerHandle[] = [];
  for (let i = 0; i < options.workers; i++) {
    const child = fork(WORKER_PATH, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    let resolveStopped!: () => void;
    const handle: WorkerHandle = { child, inFlight: 0, stopped: new Promise((r) => { resolveStopped = r; }) };
    child.on('exit', () => resolveStopped());
    workers.push(handle);
    const addresses = options.localAddresses.filter((_, k) => k % options.workers === i);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.on('message', (message: FromWorker) => {
        if (message.kind === 'ready') resolve();
        else if (message.kind === 'stats' || message.kind === 'stopped') {
          agg.apply(i, message.delta);
          agg.applyUsage(message.usage);
        }
        else if (message.kind === 'done') onDone(handle, message.index);
      });
      post(handle, { kind: 'init', worker: i, api: options.api, plan, seed: options.seed, localAddresses: addresses.length ? addresses : options.localAddresses });
    });
  }

  const free = [...hosts];
  const busy = new Map<number, ReadyHost>();
  const running = new Map<ReadyHost, { index: number; worker: WorkerHandle }>();
  for (const host of hosts) {
    host.session.onRenewed((session) => {
      const call = running.get(host);
      if (call) post(call.worker, { kind: 'host-token', index: call.index, token: session.accessToken });
    });
  }
  const scheduler = new RampScheduler(
    { total: options.calls, ratePerSec: options.rampPerSec, concurrency: Math.min(options.concurrency, hosts.length) },
    systemClock,
    (index) => {
      const host = free.shift()!;
      busy.set(index, host);
      const worker = workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      worker.inFlight += 1;
      running.set(host, { index, worker });
      const signal = options.signal.length > 1 ? [options.signal[index % options.signal.length]!, options.signal[(index + 1) % options.signal.length]!] : options.signal;
      post(worker, { kind: 'start', call: { index, shortCode: host.shortCode, hostToken: host.session.accessToken, signal } });
    },
  );
  function onDone(worker: WorkerHandle, index: number): void {
    worker.inFlight -= 1;
    const host = busy.get(index);
    busy.delete(index);
    if (host) {
      running.delete(host);
      free.push(host);
    }
    scheduler.release();
  }

  const startedAt = new Date();
  const t0 = performance.now();
  let last = t0;
  const ticker = setInterval(() => {
    const now = performance.now();
    meter.sample();
    const point = agg.sample((now - t0) / 1000, (now - last) / 1000, meter.lastCpuPct);
    last = now;
    status(formatStatus(point, agg.totals, options.calls, refresher.failed));
  }, 1000);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    status('interrupted: starting no more calls; waiting for the running ones to end (Ctrl-C again to quit now)');
    scheduler.stop();
  };
  process.on('SIGINT', onSignal);
  scheduler.run();
  await scheduler.done;
  for (const w of workers) post(w, { kind: 'stop' });
  await Promise.all(workers.map((w) => w.stopped));
  clearInterval(ticker);
  process.off('SIGINT', onSignal);
  const end = performance.now();
  meter.sample();
  agg.sample((end - t0) / 1000, Math.max(0.001, (end - last) / 1000), meter.lastCpuPct);
  const generator = summarizeGenerator({ cores: coreCount(), machineBusyPct: machineBusyPct(machineAtStart, machineCpu()), parent: meter.usage(), workers: [...agg.workerUsage.values()] });
  meter.close();
  return buildSummary(options, agg, startedAt, (end - t0) / 1000, { renewed: refresher.renewed, failed: refresher.failed, errors: refresher.errors }, generator);
}
