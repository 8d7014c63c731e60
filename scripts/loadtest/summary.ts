import { formatGenerator, type GeneratorSummary } from './generator-usage.js';
import { percentiles, type Percentiles } from './histogram.js';
import type { LoadtestOptions } from './options.js';
import type { SeriesPoint, StatsAggregate } from './stats.js';
import { formatMs, formatPercent } from './units.js';

/** The result of one threshold check. */
export interface ThresholdResult {
  name: string;
  limit: number;
  actual: number | null;
  passed: boolean;
}

/** The final, machine-readable result of a run (`--json` prints exactly this). */
export interface Summary {
  startedAt: string;
  elapsedSec: number;
  target: { api: string; signal: string[] };
  config: { calls: number; concurrency: number; rampPerSec: number; durationMs: number; churn: number; seed: string; workers: number };
  calls: { attempted: number; succeeded: number; failed: number; failedByCode: Record<string, number> };
  errorRate: number;
  errorsByCode: Record<string, number>;
  setupMs: Percentiles;
  relayMs: Percentiles;
  resumes: { attempted: number; succeeded: number };
  sockets: { peak: number; peakActiveCalls: number };
  frames: { sent: number; received: number; perSec: number };
  /**
   * Access-token renewals of hosts (and of the admin while seeding); `sentToCalls`: renewed host
   * tokens handed to calls in progress. Failures are also in `errorsByCode` as `token_refresh:<code>`.
   */
  tokens: { renewed: number; failed: number; sentToCalls: number };
  /** The generator's own CPU, memory, descriptors and event-loop delay; null when not measured. */
  generator: GeneratorSummary | null;
  thresholds: ThresholdResult[];
  passed: boolean;
  series: SeriesPoint[];
}

/** Checks every threshold the options name; absent thresholds are not listed. */
export function evaluateThresholds(t: LoadtestOptions['thresholds'], s: Pick<Summary, 'setupMs' | 'relayMs' | 'errorRate' | 'calls'>): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  const upper = (name: string, limit: number | undefined, actual: number | null) => {
    if (limit === undefined) return;
    results.push({ name, limit, actual, passed: actual !== null && actual <= limit });
  };
  upper('max-p99-setup', t.maxP99SetupMs, s.setupMs.p99);
  upper('max-p99-relay', t.maxP99RelayMs, s.relayMs.p99);
  upper('max-error-rate', t.maxErrorRate, s.calls.attempted > 0 ? s.errorRate : null);
  if (t.minCalls !== undefined) results.push({ name: 'min-calls', limit: t.minCalls, actual: s.calls.succeeded, passed: s.calls.succeeded >= t.minCalls });
  return results;
}

/** Token renewal counts of the run (TokenRefresher's). */
export interface TokenStats {
  renewed: number;
  failed: number;
  errors: Record<string, number>;
}

/** Builds the summary from the aggregate at the end of the run. */
export function buildSummary(options: LoadtestOptions, agg: StatsAggregate, startedAt: Date, elapsedSec: number, tokens: TokenStats = { renewed: 0, failed: 0, errors: {} }, generator: GeneratorSummary | null = null): Summary {
  const attempted = agg.totals.attempted;
  const failed = agg.totals.failed;
  const base = {
    calls: { attempted, succeeded: agg.totals.succeeded, failed, failedByCode: { ...agg.failures } },
    errorRate: attempted > 0 ? failed / attempted : 0,
    setupMs: percentiles(agg.setup),
    relayMs: percentiles(agg.relay),
  };
  const thresholds = evaluateThresholds(options.thresholds, base);
  return {
    startedAt: startedAt.toISOString(),
    elapsedSec: Math.round(elapsedSec * 10) / 10,
    target: { api: options.api, signal: options.signal },
    config: { calls: options.calls, concurrency: options.concurrency, rampPerSec: options.rampPerSec, durationMs: options.durationMs, churn: options.churn, seed: options.seed, workers: options.workers },
    ...base,
    errorsByCode: { ...agg.errorCodes, ...tokens.errors },
    resumes: { attempted: agg.totals.resumesAttempted, succeeded: agg.totals.resumesSucceeded },
    sockets: { peak: agg.peakSockets, peakActiveCalls: agg.peakActiveCalls },
    frames: {
      sent: agg.totals.framesSent,
      received: agg.totals.framesReceived,
      perSec: elapsedSec > 0 ? Math.round((agg.totals.framesSent + agg.totals.framesReceived) / elapsedSec) : 0,
    },
    tokens: { renewed: tokens.renewed, failed: tokens.failed, sentToCalls: agg.totals.hostTokenUpdates },
    generator,
    thresholds,
    passed: thresholds.every((r) => r.passed),
    series: agg.series,
  };
}

function thresholdValue(r: ThresholdResult, value: number | null): string {
  if (value === null) return '-';
  if (r.name === 'max-error-rate') return formatPercent(value);
  if (r.name === 'min-calls') return String(value);
  return formatMs(value);
}

/** The human summary printed at the end (stdout unless --json). */
export function formatSummary(s: Summary): string {
  const pct = (p: Percentiles) => `p50 ${formatMs(p.p50)}  p90 ${formatMs(p.p90)}  p99 ${formatMs(p.p99)}  max ${formatMs(p.max)}  (n=${p.count})`;
  const lines = [
    `Load test against ${s.target.api} — ${s.elapsedSec}s, seed "${s.config.seed}", ${s.config.workers} worker(s)`,
    `calls      attempted ${s.calls.attempted}  succeeded ${s.calls.succeeded}  failed ${s.calls.failed}  (error rate ${formatPercent(s.errorRate)})`,
  ];
  for (const [code, n] of Object.entries(s.calls.failedByCode).sort((a, b) => b[1] - a[1])) lines.push(`           failed ${code}: ${n}`);
  const extra = Object.entries(s.errorsByCode).filter(([code]) => !(code in s.calls.failedByCode));
  for (const [code, n] of extra) lines.push(`           non-fatal ${code}: ${n}`);
  lines.push(
    `setup      ${pct(s.setupMs)}`,
    `relay      ${pct(s.relayMs)}`,
    `resumes    ${s.resumes.succeeded}/${s.resumes.attempted} succeeded`,
    `sockets    peak ${s.sockets.peak} held (${s.sockets.peakActiveCalls} calls active at peak)`,
    `frames     ${s.frames.sent} sent, ${s.frames.received} received, ${s.frames.perSec}/s`,
    `tokens     ${s.tokens.renewed} renewed (${s.tokens.sentToCalls} handed to running calls), ${s.tokens.failed} renewal(s) failed`,
    ...(s.generator ? formatGenerator(s.generator) : []),
  );
  for (const r of s.thresholds) lines.push(`threshold  ${r.passed ? 'PASS' : 'FAIL'} ${r.name}: ${thresholdValue(r, r.actual)} (limit ${thresholdValue(r, r.limit)})`);
  return lines.join('\n');
}

/** One live status line (stderr, once per second; plain text so logs stay readable off a TTY). */
export function formatStatus(p: SeriesPoint, totals: { attempted: number; succeeded: number; failed: number }, target: number, tokenFailures = 0): string {
  return `[${p.t.toFixed(0).padStart(4)}s] calls ${totals.attempted}/${target} active ${p.activeCalls} ok ${totals.succeeded} failed ${totals.failed}`
    + ` | setups/s ${p.setupsPerSec.toFixed(0)} errors/s ${p.errorsPerSec.toFixed(0)} frames/s ${p.framesPerSec.toFixed(0)}`
    + ` | setup p50 ${formatMs(p.setupP50)} p99 ${formatMs(p.setupP99)} relay p99 ${formatMs(p.relayP99)} | sockets ${p.sockets} | gen cpu ${p.generatorCpuPct.toFixed(0)}% (worker max ${p.maxWorkerCpuPct.toFixed(0)}%)`
    + (tokenFailures > 0 ? ` | token renewals failed ${tokenFailures}` : '');
}
