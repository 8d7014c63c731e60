import type { WorkerUsage } from './generator-usage.js';
import { Histogram, type HistogramData } from './histogram.js';

/** Counters every worker keeps; sent to the parent as deltas. */
export const COUNTERS = ['attempted', 'succeeded', 'failed', 'setups', 'resumesAttempted', 'resumesSucceeded', 'framesSent', 'framesReceived', 'errors', 'hostTokenUpdates'] as const;
export type Counter = (typeof COUNTERS)[number];

/** What a worker reports once per second (and once at the end): changes since its last report, plus gauges. */
export interface StatsDelta {
  counters: Record<Counter, number>;
  /** Failed calls by error code (a call fails once, with its first fatal error). */
  failures: Record<string, number>;
  /** Every error seen (fatal or not) by code. */
  errorCodes: Record<string, number>;
  setup: HistogramData;
  relay: HistogramData;
  activeCalls: number;
  sockets: number;
}

function zeroCounters(): Record<Counter, number> {
  return Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<Counter, number>;
}

function addInto(target: Record<string, number>, source: Record<string, number>): void {
  for (const [k, n] of Object.entries(source)) target[k] = (target[k] ?? 0) + n;
}

/** A worker's accumulator: counters and histograms since the last `drain()`. */
export class StatsRecorder {
  private counters = zeroCounters();
  private failures: Record<string, number> = {};
  private errorCodes: Record<string, number> = {};
  readonly setup = new Histogram();
  readonly relay = new Histogram();
  activeCalls = 0;
  sockets = 0;

  add(counter: Counter, n = 1): void {
    this.counters[counter] += n;
  }

  error(code: string): void {
    this.counters.errors += 1;
    this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1;
  }

  /** A call failed with `code`: counted once in `failed` and in the errors. */
  fail(code: string): void {
    this.counters.failed += 1;
    this.failures[code] = (this.failures[code] ?? 0) + 1;
    this.error(code);
  }

  /** Everything since the last drain, then resets the deltas (gauges are kept). */
  drain(): StatsDelta {
    const delta: StatsDelta = {
      counters: this.counters, failures: this.failures, errorCodes: this.errorCodes,
      setup: this.setup.toJSON(), relay: this.relay.toJSON(), activeCalls: this.activeCalls, sockets: this.sockets,
    };
    this.counters = zeroCounters();
    this.failures = {};
    this.errorCodes = {};
    this.setup.reset();
    this.relay.reset();
    return delta;
  }
}

/** One point of the per-second time series. */
export interface SeriesPoint {
  /** Seconds since the run started. */
  t: number;
  activeCalls: number;
  sockets: number;
  setupsPerSec: number;
  errorsPerSec: number;
  framesPerSec: number;
  setupP50: number | null;
  setupP99: number | null;
  relayP50: number | null;
  relayP90: number | null;
  relayP99: number | null;
  /** The generator's CPU over the last second (parent + workers, % of one core), and its busiest worker's. */
  generatorCpuPct: number;
  maxWorkerCpuPct: number;
}

/** The parent's view: totals over the run plus the deltas of the current one-second window. */
export class StatsAggregate {
  readonly totals = zeroCounters();
  readonly failures: Record<string, number> = {};
  readonly errorCodes: Record<string, number> = {};
  readonly setup = new Histogram();
  readonly relay = new Histogram();
  readonly series: SeriesPoint[] = [];
  peakActiveCalls = 0;
  peakSockets = 0;
  private readonly gauges = new Map<number, { activeCalls: number; sockets: number }>();
  /** Each worker's latest report about itself. */
  readonly workerUsage = new Map<number, WorkerUsage>();
  private window = { counters: zeroCounters(), setup: new Histogram(), relay: new Histogram() };

  apply(worker: number, delta: StatsDelta): void {
    addInto(this.totals, delta.counters);
    addInto(this.window.counters, delta.counters);
    addInto(this.failures, delta.failures);
    addInto(this.errorCodes, delta.errorCodes);
    this.setup.merge(delta.setup);
    this.relay.merge(delta.relay);
    this.window.setup.merge(delta.setup);
    this.window.relay.merge(delta.relay);
    this.gauges.set(worker, { activeCalls: delta.activeCalls, sockets: delta.sockets });
  }

  applyUsage(usage: WorkerUsage): void {
    this.workerUsage.set(usage.worker, usage);
  }

  get activeCalls(): number {
    let n = 0;
    for (const g of this.gauges.values()) n += g.activeCalls;
    return n;
  }

  get sockets(): number {
    let n = 0;
    for (const g of this.gauges.values()) n += g.sockets;
    return n;
  }

  /** Closes the current window as a series point at `t` seconds covering `seconds` of wall time. */
  sample(t: number, seconds = 1, parentCpuPct = 0): SeriesPoint {
    const w = this.window;
    let workersCpu = 0;
    let maxWorkerCpu = 0;
    for (const u of this.workerUsage.values()) {
      workersCpu += u.recentCpuPct;
      maxWorkerCpu = Math.max(maxWorkerCpu, u.recentCpuPct);
    }
    const point: SeriesPoint = {
      t: Math.round(t * 10) / 10,
      activeCalls: this.activeCalls,
      sockets: this.sockets,
      setupsPerSec: w.counters.setups / seconds,
      errorsPerSec: w.counters.errors / seconds,
      framesPerSec: (w.counters.framesSent + w.counters.framesReceived) / seconds,
      setupP50: w.setup.percentile(0.5),
      setupP99: w.setup.percentile(0.99),
      relayP50: w.relay.percentile(0.5),
      relayP90: w.relay.percentile(0.9),
      relayP99: w.relay.percentile(0.99),
      generatorCpuPct: Math.round((parentCpuPct + workersCpu) * 10) / 10,
      maxWorkerCpuPct: maxWorkerCpu,
    };
    this.peakActiveCalls = Math.max(this.peakActiveCalls, point.activeCalls);
    this.peakSockets = Math.max(this.peakSockets, point.sockets);
    this.series.push(point);
    this.window = { counters: zeroCounters(), setup: new Histogram(), relay: new Histogram() };
    return point;
  }
}
