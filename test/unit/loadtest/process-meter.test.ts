import { describe, expect, it } from 'vitest';
import { machineBusyPct, ProcessMeter } from '../../../scripts/loadtest/process-meter.js';

function spinCpu(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

describe('ProcessMeter', () => {
  it('measures its own process: CPU time and share, RSS, descriptors, event-loop delay', async () => {
    const meter = new ProcessMeter();
    try {
      await new Promise((r) => setTimeout(r, 150));
      const wall = performance.now();
      spinCpu(300);
      const blockedMs = performance.now() - wall;
      meter.sample();
      await new Promise((r) => setTimeout(r, 50));
      const u = meter.usage();
      expect(u.cpuSec).toBeGreaterThanOrEqual(0.3);
      expect(u.wallSec).toBeGreaterThanOrEqual(0.45);
      expect(u.cpuPct).toBeCloseTo((u.cpuSec / u.wallSec) * 100, -1);
      expect(meter.lastCpuPct).toBeGreaterThan(0);
      expect(u.peakCpuPct).toBe(Math.round(meter.lastCpuPct * 10) / 10);
      expect(u.peakRssBytes).toBeGreaterThanOrEqual(u.rssBytes * 0.5);
      expect(u.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(u.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(blockedMs - 30);
      expect(u.eventLoopDelayP99Ms).toBeLessThanOrEqual(u.eventLoopDelayMaxMs);
      if (process.platform === 'linux') {
        expect(u.peakOpenFds).toBeGreaterThan(2);
        expect(u.fdLimit).toBeGreaterThan(u.peakOpenFds!);
      }
    } finally {
      meter.close();
    }
  });

  it('computes the machine busy share between two readings', () => {
    expect(machineBusyPct({ busyMs: 100, totalMs: 1000 }, { busyMs: 400, totalMs: 2000 })).toBe(30);
    expect(machineBusyPct({ busyMs: 1, totalMs: 5 }, { busyMs: 1, totalMs: 5 })).toBeNull();
  });
});
