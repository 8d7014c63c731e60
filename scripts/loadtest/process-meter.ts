import { readdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { openFileLimits } from '../../shared/runtime/open-files.js';

/** A process's share of one core above which a one-second sample counts as busy. */
export const BUSY_CPU_PCT = 90;

/** The event-loop monitor's timer period; its samples are this period plus the delay. */
const LOOP_RESOLUTION_MS = 10;

/** One generator process's resource use over the run (CPU shares are of one core: 200 % = two cores). */
export interface ProcessUsage {
  /** User + system CPU time since the meter started. */
  cpuSec: number;
  /** Wall time since the meter started. */
  wallSec: number;
  /** cpuSec / wallSec. */
  cpuPct: number;
  /** The highest one-second CPU share seen. */
  peakCpuPct: number;
  /** One-second samples at or above BUSY_CPU_PCT. */
  busySec: number;
  rssBytes: number;
  /** The highest RSS seen by the one-second samples. */
  peakRssBytes: number;
  /** Open descriptors at the busiest sample and the soft limit (null where /proc is not available). */
  peakOpenFds: number | null;
  fdLimit: number | null;
  /** Event-loop delay over the run (ms, sampled every 10 ms): how late timers and I/O callbacks ran. */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/** This process's soft limit on open descriptors (children inherit it); null where /proc is not available. */
export function softFdLimit(): number | null {
  const soft = openFileLimits()?.soft;
  return soft !== undefined && Number.isFinite(soft) ? soft : null;
}

/**
 * Measures the process it runs in: CPU time, RSS, open descriptors and event-loop delay. Call
 * `sample()` about once a second (it keeps the peaks and the one-second CPU share), `usage()` for
 * the figures so far, and `close()` to stop the event-loop monitor. Costs one `/proc/self/fd`
 * listing per sample (a few ms at 10,000 descriptors) and a 10 ms timer.
 */
export class ProcessMeter {
  private readonly startCpu = process.cpuUsage();
  private readonly startWall = performance.now();
  private lastCpuUs = 0;
  private lastWall = this.startWall;
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private readonly fdLimit = softFdLimit();
  private peakCpuPct = 0;
  private busySec = 0;
  private peakRssBytes = 0;
  private peakOpenFds: number | null = null;
  /** CPU share of one core over the interval ending at the last sample. */
  lastCpuPct = 0;

  constructor() {
    this.loop.enable();
  }

  private cpuUs(): number {
    const u = process.cpuUsage(this.startCpu);
    return u.user + u.system;
  }

  /** Takes a sample; returns the RSS it saw. */
  sample(): number {
    const now = performance.now();
    const cpu = this.cpuUs();
    const wallMs = now - this.lastWall;
    if (wallMs >= 100) {
      this.lastCpuPct = ((cpu - this.lastCpuUs) / 1000 / wallMs) * 100;
      this.peakCpuPct = Math.max(this.peakCpuPct, this.lastCpuPct);
      if (this.lastCpuPct >= BUSY_CPU_PCT) this.busySec += wallMs / 1000;
      this.lastCpuUs = cpu;
      this.lastWall = now;
    }
    const rss = process.memoryUsage.rss();
    this.peakRssBytes = Math.max(this.peakRssBytes, rss);
    const fds = openFds();
    if (fds !== null) this.peakOpenFds = Math.max(this.peakOpenFds ?? 0, fds);
    return rss;
  }

  usage(): ProcessUsage {
    const wallSec = (performance.now() - this.startWall) / 1000;
    const cpuSec = this.cpuUs() / 1e6;
    const rssBytes = process.memoryUsage.rss();
    const ms = (ns: number) => (Number.isFinite(ns) ? Math.max(0, Math.round((ns / 1e6 - LOOP_RESOLUTION_MS) * 100) / 100) : 0);
    return {
      cpuSec: Math.round(cpuSec * 1000) / 1000,
      wallSec: Math.round(wallSec * 10) / 10,
      cpuPct: wallSec > 0 ? Math.round((cpuSec / wallSec) * 1000) / 10 : 0,
      peakCpuPct: Math.round(this.peakCpuPct * 10) / 10,
      busySec: Math.round(this.busySec),
      rssBytes,
      peakRssBytes: Math.max(this.peakRssBytes, rssBytes),
      peakOpenFds: this.peakOpenFds,
      fdLimit: this.fdLimit,
      eventLoopDelayP99Ms: this.loop.count > 0 ? ms(this.loop.percentile(99)) : 0,
      eventLoopDelayMaxMs: this.loop.count > 0 ? ms(this.loop.max) : 0,
    };
  }

  close(): void {
    this.loop.disable();
  }
}

/** Busy and total CPU time of the whole machine (all cores, ms) so far. */
export interface MachineCpu {
  busyMs: number;
  totalMs: number;
}

export function machineCpu(): MachineCpu {
  let busyMs = 0;
  let totalMs = 0;
  for (const { times } of cpus()) {
    const busy = times.user + times.nice + times.sys + times.irq;
    busyMs += busy;
    totalMs += busy + times.idle;
  }
  return { busyMs, totalMs };
}

/** The machine's busy share between two readings (100 % = every core busy); null when no time passed. */
export function machineBusyPct(from: MachineCpu, to: MachineCpu): number | null {
  const total = to.totalMs - from.totalMs;
  return total > 0 ? Math.round(((to.busyMs - from.busyMs) / total) * 1000) / 10 : null;
}

/** Cores this process may use. */
export function coreCount(): number {
  return availableParallelism();
}
