import { BUSY_CPU_PCT, type ProcessUsage } from './process-meter.js';
import { formatBytes, formatMs } from './units.js';

/** What a worker reports about itself with every stats delta (its figures so far). */
export interface WorkerUsage extends ProcessUsage {
  worker: number;
  /** CPU share of one core over the last second. */
  recentCpuPct: number;
  /** RSS once the worker was ready, before its first call. */
  baselineRssBytes: number;
  /** The most sockets a one-second sample saw, and the RSS at that sample. */
  peakSockets: number;
  rssAtPeakSocketsBytes: number;
}

/** A worker's figures in the summary. */
export type WorkerFigures = Omit<WorkerUsage, 'recentCpuPct'> & {
  /** (RSS at peak sockets − baseline) / peak sockets: the memory a held socket (half a call) costs; null without sockets. */
  rssPerSocketBytes: number | null;
};

/** The generator's own resource use: was the generator, rather than the target, the limit? */
export interface GeneratorSummary {
  /** Cores available to the generator. */
  cores: number;
  /** The whole machine's busy share over the run (100 % = every core), other processes included; null where unknown. */
  machineBusyPct: number | null;
  /** The parent (seeding is not included: it is measured from the first call on). */
  parent: ProcessUsage;
  workers: WorkerFigures[];
  /** CPU seconds of the parent and every worker. */
  cpuSec: number;
  /** Σ(RSS at peak sockets − baseline) / Σ peak sockets over the workers; null without sockets. */
  rssPerSocketBytes: number | null;
  /** Signs that the generator limited the run (busy cores, event-loop delay, descriptors). */
  warnings: string[];
}

/** Event-loop delay p99 above which a worker's own latency figures are suspect. */
const LOOP_DELAY_WARN_MS = 50;
/** Seconds at ≥ BUSY_CPU_PCT after which a process is reported as a possible bottleneck. */
const BUSY_WARN_SEC = 3;

function perSocket(rssAtPeak: number, baseline: number, sockets: number): number | null {
  return sockets > 0 ? Math.max(0, Math.round((rssAtPeak - baseline) / sockets)) : null;
}

function warningsOf(g: Omit<GeneratorSummary, 'warnings'>): string[] {
  const warnings: string[] = [];
  const processes: Array<[string, ProcessUsage]> = [['parent', g.parent], ...g.workers.map((w): [string, ProcessUsage] => [`worker ${w.worker}`, w])];
  for (const [name, u] of processes) {
    if (u.busySec >= BUSY_WARN_SEC) warnings.push(`${name} used >= ${BUSY_CPU_PCT}% of a core for ${u.busySec}s: the generator may have limited the run (more --workers, or more cores)`);
    if (u.eventLoopDelayP99Ms >= LOOP_DELAY_WARN_MS) warnings.push(`${name} event-loop delay p99 ${formatMs(u.eventLoopDelayP99Ms)}: latencies it measured include up to that much generator delay`);
    if (u.peakOpenFds !== null && u.fdLimit !== null && u.peakOpenFds >= 0.9 * u.fdLimit) warnings.push(`${name} used ${u.peakOpenFds} of its ${u.fdLimit} descriptors (more --workers)`);
  }
  if (g.machineBusyPct !== null && g.machineBusyPct >= BUSY_CPU_PCT) warnings.push(`the generator's machine was ${g.machineBusyPct}% busy over the run (all cores, other processes included)`);
  return warnings;
}

/** The summary block from the parent's and the workers' last reports. */
export function summarizeGenerator(input: { cores: number; machineBusyPct: number | null; parent: ProcessUsage; workers: WorkerUsage[] }): GeneratorSummary {
  const workers = [...input.workers].sort((a, b) => a.worker - b.worker).map(({ recentCpuPct: _recent, ...w }): WorkerFigures => ({
    ...w, rssPerSocketBytes: perSocket(w.rssAtPeakSocketsBytes, w.baselineRssBytes, w.peakSockets),
  }));
  const sockets = workers.reduce((n, w) => n + w.peakSockets, 0);
  const grown = workers.reduce((n, w) => n + Math.max(0, w.rssAtPeakSocketsBytes - w.baselineRssBytes), 0);
  const base = {
    cores: input.cores,
    machineBusyPct: input.machineBusyPct,
    parent: input.parent,
    workers,
    cpuSec: Math.round((input.parent.cpuSec + workers.reduce((n, w) => n + w.cpuSec, 0)) * 1000) / 1000,
    rssPerSocketBytes: sockets > 0 ? Math.round(grown / sockets) : null,
  };
  return { ...base, warnings: warningsOf(base) };
}

function usageLine(u: ProcessUsage): string {
  return `cpu ${u.cpuSec.toFixed(1)}s (${u.cpuPct}% of a core, peak ${u.peakCpuPct}%), rss peak ${formatBytes(u.peakRssBytes)}, loop delay p99 ${formatMs(u.eventLoopDelayP99Ms)} max ${formatMs(u.eventLoopDelayMaxMs)}`
    + (u.peakOpenFds !== null ? `, fds ${u.peakOpenFds}/${u.fdLimit ?? '?'}` : '');
}

/** The generator lines of the text summary. */
export function formatGenerator(g: GeneratorSummary): string[] {
  const lines = [
    `generator  ${g.cores} core(s)${g.machineBusyPct !== null ? `, machine ${g.machineBusyPct}% busy` : ''}, ${g.cpuSec.toFixed(1)} CPU-s in all`
      + (g.rssPerSocketBytes !== null ? `, ${formatBytes(g.rssPerSocketBytes)} RSS per held socket` : ''),
    `           parent: ${usageLine(g.parent)}`,
  ];
  for (const w of g.workers) {
    lines.push(`           worker ${w.worker}: ${usageLine(w)}, ${w.peakSockets} sockets at peak`
      + (w.rssPerSocketBytes !== null ? ` (${formatBytes(w.rssPerSocketBytes)} each over a ${formatBytes(w.baselineRssBytes)} baseline)` : ''));
  }
  for (const warning of g.warnings) lines.push(`warning    ${warning}`);
  return lines;
}
