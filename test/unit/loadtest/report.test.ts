import { describe, expect, it } from 'vitest';
import type { LoadtestOptions } from '../../../scripts/loadtest/options.js';
import { parseOptions } from '../../../scripts/loadtest/options.js';
import { renderHtmlReport } from '../../../scripts/loadtest/report-html.js';
import { summarizeGenerator, type WorkerUsage } from '../../../scripts/loadtest/generator-usage.js';
import type { ProcessUsage } from '../../../scripts/loadtest/process-meter.js';
import { StatsAggregate, StatsRecorder } from '../../../scripts/loadtest/stats.js';
import { buildSummary, evaluateThresholds, formatSummary } from '../../../scripts/loadtest/summary.js';
import { callRandom, createRandom } from '../../../scripts/loadtest/prng.js';

function options(argv: string[]): LoadtestOptions {
  const o = parseOptions(argv);
  if (o === 'help') throw new Error('help');
  return o;
}

const MiB = 1024 * 1024;

function processUsage(fields: Partial<ProcessUsage> = {}): ProcessUsage {
  return {
    cpuSec: 3, wallSec: 10, cpuPct: 30, peakCpuPct: 60, busySec: 0, rssBytes: 90 * MiB, peakRssBytes: 100 * MiB,
    peakOpenFds: 40, fdLimit: 20000, eventLoopDelayP99Ms: 2, eventLoopDelayMaxMs: 15, ...fields,
  };
}

function workerUsage(worker: number, fields: Partial<WorkerUsage> = {}): WorkerUsage {
  return { ...processUsage(), worker, recentCpuPct: 40, baselineRssBytes: 60 * MiB, peakSockets: 4000, rssAtPeakSocketsBytes: 100 * MiB, ...fields };
}

function sampleRun(argv: string[], generator = summarizeGenerator({ cores: 2, machineBusyPct: 40, parent: processUsage({ cpuSec: 0.5 }), workers: [workerUsage(1), workerUsage(0)] })) {
  const agg = new StatsAggregate();
  const w0 = new StatsRecorder();
  const w1 = new StatsRecorder();
  for (let i = 0; i < 10; i++) {
    const w = i % 2 ? w1 : w0;
    w.add('attempted');
    w.setup.record(100 + i * 10);
    w.relay.record(1 + i / 10);
    w.add('framesSent', 20);
    w.add('framesReceived', 20);
    if (i === 3) w.fail('join:conflict:host_busy');
    else w.add('succeeded');
  }
  w0.error('signal_rate_limited');
  w0.activeCalls = 4;
  w0.sockets = 8;
  agg.apply(0, w0.drain());
  agg.apply(1, w1.drain());
  agg.sample(1);
  agg.apply(0, w0.drain());
  agg.sample(2);
  return buildSummary(options(argv), agg, new Date('2025-01-01T00:00:00Z'), 2, { renewed: 3, failed: 1, errors: { 'token_refresh:timeout': 1 } }, generator);
}

describe('summary and thresholds', () => {
  it('aggregates worker deltas into counts, failures by code and percentiles', () => {
    const s = sampleRun(['-n', '10']);
    expect(s.calls).toEqual({ attempted: 10, succeeded: 9, failed: 1, failedByCode: { 'join:conflict:host_busy': 1 } });
    expect(s.errorsByCode).toEqual({ 'join:conflict:host_busy': 1, signal_rate_limited: 1, 'token_refresh:timeout': 1 });
    expect(s.tokens).toEqual({ renewed: 3, failed: 1, sentToCalls: 0 });
    expect(s.errorRate).toBeCloseTo(0.1);
    expect(s.setupMs.count).toBe(10);
    expect(s.setupMs.max).toBe(190);
    expect(s.sockets.peak).toBe(8);
    expect(s.frames).toEqual({ sent: 200, received: 200, perSec: 200 });
    expect(s.series).toHaveLength(2);
    expect(s.series[0]!.setupsPerSec).toBe(0);
    expect(s.passed).toBe(true);
    expect(formatSummary(s)).toContain('failed join:conflict:host_busy: 1');
  });

  it('fails the run when a threshold is missed and passes when met', () => {
    const failing = sampleRun(['-n', '10', '--max-error-rate', '0.1%', '--max-p99-setup', '1s']);
    expect(failing.passed).toBe(false);
    expect(failing.thresholds.find((t) => t.name === 'max-error-rate')).toMatchObject({ passed: false, limit: 0.001 });
    expect(failing.thresholds.find((t) => t.name === 'max-p99-setup')).toMatchObject({ passed: true });
    expect(formatSummary(failing)).toContain('FAIL max-error-rate');
    expect(sampleRun(['-n', '10', '--max-p99-setup', '150ms']).passed).toBe(false);
  });

  it('treats a latency threshold with no samples as missed', () => {
    const r = evaluateThresholds({ maxP99RelayMs: 10 }, { setupMs: { count: 0, p50: null, p90: null, p99: null, max: null, mean: null }, relayMs: { count: 0, p50: null, p90: null, p99: null, max: null, mean: null }, errorRate: 0, calls: { attempted: 0, succeeded: 0, failed: 0, failedByCode: {} } });
    expect(r).toEqual([{ name: 'max-p99-relay', limit: 10, actual: null, passed: false }]);
  });
});

describe('generator figures', () => {
  it('reports CPU and RSS per process, RSS per held socket, and no warning for an idle generator', () => {
    const s = sampleRun(['-n', '10']);
    const g = s.generator!;
    expect(g.workers.map((w) => w.worker)).toEqual([0, 1]);
    expect(g.workers[0]).not.toHaveProperty('recentCpuPct');
    expect(g.workers[0]!.rssPerSocketBytes).toBe(Math.round((40 * MiB) / 4000));
    expect(g.rssPerSocketBytes).toBe(Math.round((80 * MiB) / 8000));
    expect(g.cpuSec).toBe(6.5);
    expect(g.warnings).toEqual([]);
    const text = formatSummary(s);
    expect(text).toContain('generator  2 core(s), machine 40% busy, 6.5 CPU-s in all, 10.2 KiB RSS per held socket');
    expect(text).toContain('worker 1: cpu 3.0s (30% of a core, peak 60%), rss peak 100 MiB, loop delay p99 2.0ms max 15.0ms, fds 40/20000, 4000 sockets at peak (10.2 KiB each over a 60.0 MiB baseline)');
    expect(text).not.toContain('warning');
  });

  it('warns when a process was busy, its event loop lagged, it neared its descriptor limit, or the machine was saturated', () => {
    const g = summarizeGenerator({
      cores: 2, machineBusyPct: 97,
      parent: processUsage({ busySec: 2 }),
      workers: [workerUsage(0, { busySec: 12, eventLoopDelayP99Ms: 80 }), workerUsage(1, { peakOpenFds: 18500 }), workerUsage(2, { peakSockets: 0 })],
    });
    expect(g.workers[2]!.rssPerSocketBytes).toBeNull();
    expect(g.warnings).toHaveLength(4);
    expect(g.warnings[0]).toMatch(/^worker 0 used >= 90% of a core for 12s/);
    expect(g.warnings[1]).toMatch(/^worker 0 event-loop delay p99 80\.0ms/);
    expect(g.warnings[2]).toMatch(/^worker 1 used 18500 of its 20000 descriptors/);
    expect(g.warnings[3]).toMatch(/machine was 97% busy/);
    expect(formatSummary(sampleRun(['-n', '10'], g))).toContain('warning    worker 0 used >= 90%');
  });

  it('puts the generator CPU of each second into the series', () => {
    const agg = new StatsAggregate();
    agg.applyUsage(workerUsage(0, { recentCpuPct: 30 }));
    agg.applyUsage(workerUsage(1, { recentCpuPct: 55 }));
    agg.applyUsage(workerUsage(0, { recentCpuPct: 20 }));
    const p = agg.sample(1, 1, 5);
    expect(p.generatorCpuPct).toBe(80);
    expect(p.maxWorkerCpuPct).toBe(55);
  });
});

describe('HTML report', () => {
  it('is self-contained and carries the data and the charts', () => {
    const s = sampleRun(['-n', '10', '--max-error-rate', '0.1%']);
    const html = renderHtmlReport(s);
    expect(html).not.toMatch(/\s(src|href)=|<link|<iframe|@import|url\(/i);
    const json = /<script type="application\/json" id="loadtest-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(json).calls.attempted).toBe(10);
    for (const id of ['chart-relay', 'chart-setup', 'chart-active', 'chart-errors', 'chart-generator']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('<h2>Generator</h2>');
    expect(html).toContain('<th>worker 1</th><td>3.0</td><td>30%</td><td>60%</td>');
    expect(html).toContain('No sign that the generator limited the run.');
    expect(html).toContain('join:conflict:host_busy');
    expect(html).toContain('FAILED');
  });

  it('cannot be broken out of by data containing </script>', () => {
    const s = sampleRun(['-n', '10', '--seed', '</script><b>x']);
    const html = renderHtmlReport(s);
    expect(html).not.toContain('</script><b>');
  });
});

describe('seeded randomness', () => {
  it('repeats for the same seed and differs between calls', () => {
    const a = createRandom('s');
    const b = createRandom('s');
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(callRandom('s', 1).next()).not.toBe(callRandom('s', 2).next());
    const r = createRandom(42);
    for (let i = 0; i < 100; i++) {
      const n = r.int(3, 5);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(5);
    }
  });
});
