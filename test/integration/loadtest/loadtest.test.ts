import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeedState } from '../../../scripts/loadtest/state-file.js';
import type { Summary } from '../../../scripts/loadtest/summary.js';
import { PROJECT_ROOT } from '../../../shared/runtime/paths.js';
import { generateKeyFile } from '../../../shared/tokens/index.js';
import { ensureBuilt } from '../../helpers/build.js';
import { startProductProcess, type ProductProcess } from '../../helpers/product-process.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { dropRedisPrefix, mongoUrl, redisClient, redisUrl, uniqueName } from '../../helpers/services.js';
import { scratchDir } from '../../helpers/scratch.js';

const CLI = join(PROJECT_ROOT, 'dist', 'scripts', 'cli.js');
const ADMIN = { email: 'lt-admin@example.com', password: 'admin-password-1' };

function runCli(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-20000); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`cli ${args[0]} timed out: ${stderr}`)); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** Sums a Prometheus counter/gauge over both nodes, optionally for one label value. */
function metric(texts: string[], name: string, label?: string): number {
  let total = 0;
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const [series, value] = line.split(' ');
      if (series === name || (label && series === `${name}{${label}}`)) total += Number(value);
    }
  }
  return total;
}

describe('vidivo loadtest against a local two-node deployment', () => {
  const dir = scratchDir('vidivo-lt');
  const prefix = uniqueName('loadtest');
  const database = uniqueName('loadtest');
  let env: Record<string, string>;
  let all: ProductProcess;
  let second: ProductProcess;
  let summary: Summary;
  let signalUrls: string[];
  let stripe: StripeMock;

  beforeAll(async () => {
    ensureBuilt();
    stripe = await startStripeMock();
    const keysDir = join(dir, 'keys');
    generateKeyFile(keysDir);
    env = {
      MONGO_URL: mongoUrl(), MONGO_DB: database, REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, JWT_KEYS_DIR: keysDir,
      RATE_LIMIT_EXEMPT_IPS: '["127.0.0.1"]', LOG_LEVEL: 'warn',
      // The hosts' links are paid: each join holds a card on a real stripe-mock.
      STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: stripe.url,
    };
    all = await startProductProcess('all', { ...env, NODE_ID: 'lt-a', LOG_LEVEL: 'info' });
    second = await startProductProcess('signal', { ...env, NODE_ID: 'lt-b', LOG_LEVEL: 'info' });
    signalUrls = [all.signalPort!, second.signalPort!].map((port) => `ws://127.0.0.1:${port}/signal/ws`);
    const admin = await runCli(['create-admin', '--email', ADMIN.email, '--password', ADMIN.password], env);
    expect(admin.code, admin.stderr).toBe(0);
    expect(admin.stdout).toContain('created');
  }, 180_000);

  afterAll(async () => {
    all?.kill();
    second?.kill();
    await Promise.all([all?.exited, second?.exited]);
    await stripe?.stop();
    const client = new MongoClient(mongoUrl());
    await client.db(database).dropDatabase().catch(() => undefined);
    await client.close();
    const redis = redisClient();
    await dropRedisPrefix(redis, prefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs 6 calls across both nodes, and its counts agree with what the servers saw', async () => {
    const report = join(dir, 'report.html');
    const res = await runCli([
      'loadtest', '--api', `http://127.0.0.1:${all.apiPort}`, '--signal', signalUrls[0]!, '--signal', signalUrls[1]!,
      '-n', '6', '-d', '10s', '--ramp', '6', '--ping-interval', '2s', '--mute-interval', '1s', '--candidates', '3',
      '--json', '--report', report, '--state-file', join(dir, 'state.json'), '--seed', 'it',
    ], { LOADTEST_ADMIN_EMAIL: ADMIN.email, LOADTEST_ADMIN_PASSWORD: ADMIN.password });
    expect(res.code, res.stderr).toBe(0);
    summary = JSON.parse(res.stdout) as Summary;
    expect(summary.calls).toEqual({ attempted: 6, succeeded: 6, failed: 0, failedByCode: {} });
    expect(summary.setupMs.count).toBe(6);
    expect(summary.relayMs.count).toBeGreaterThan(6 * 2 * 4);
    expect(summary.sockets.peak).toBe(12);
    expect(summary.passed).toBe(true);
    expect(summary.tokens).toEqual({ renewed: 0, failed: 0, sentToCalls: 0 });
    expect(res.stderr).toMatch(/calls \d+\/6 active \d+/);
    expect(res.stderr).toMatch(/gen cpu \d+% \(worker max \d+%\)/);
    const g = summary.generator!;
    expect(g.workers).toHaveLength(summary.config.workers);
    expect(g.workers[0]!.peakSockets).toBe(12);
    expect(g.workers[0]!.cpuSec).toBeGreaterThan(0);
    expect(g.workers[0]!.wallSec).toBeGreaterThan(10);
    expect(g.workers[0]!.peakRssBytes).toBeGreaterThanOrEqual(g.workers[0]!.baselineRssBytes);
    expect(g.workers[0]!.peakOpenFds).toBeGreaterThanOrEqual(12);
    expect(g.rssPerSocketBytes).not.toBeNull();
    expect(g.parent.cpuSec).toBeGreaterThan(0);
    expect(g.cpuSec).toBeCloseTo(g.parent.cpuSec + g.workers[0]!.cpuSec, 2);
    expect(summary.series.some((p) => p.generatorCpuPct > 0)).toBe(true);

    const texts = await Promise.all([all.signalPort, second.signalPort].map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()));
    const perNode = texts.map((t) => metric([t], 'signal_frames_in_total', 'type="join"'));
    expect(perNode[0]).toBe(6);
    expect(perNode[1]).toBe(6);
    expect(metric(texts, 'signal_frames_in_total', 'type="hangup"')).toBe(summary.calls.succeeded);
    expect(metric(texts, 'signal_frames_in_total', 'type="offer"')).toBe(6);
    expect(metric(texts, 'signal_frames_in_total', 'type="answer"')).toBe(6);
    expect(metric(texts, 'signal_frames_in_total', 'type="ice-candidate"')).toBe(6 * 2 * (3 + 1));
    expect(metric(texts, 'signal_frames_in_total', 'type="media-state"')).toBe(6 * 2);
    const inTypes = ['join', 'offer', 'answer', 'ice-candidate', 'media-state', 'mute-state', 'ping', 'hangup'];
    expect(inTypes.reduce((n, t) => n + metric(texts, 'signal_frames_in_total', `type="${t}"`), 0)).toBe(summary.frames.sent);
    const outTypes = ['ack', 'peer-joined', 'peer-left', 'call-state', 'offer', 'answer', 'ice-candidate', 'mute-state', 'pong', 'error'];
    expect(outTypes.reduce((n, t) => n + metric(texts, 'signal_frames_out_total', `type="${t}"`), 0)).toBe(summary.frames.received);
    expect(metric(texts, 'signal_relay_latency_seconds_count', 'path="remote"')).toBeGreaterThan(0);

    const client = new MongoClient(mongoUrl());
    try {
      const calls = client.db(database).collection('calls');
      expect(await calls.countDocuments({ status: 'ended', end_reason: 'hangup' })).toBe(6);
    } finally {
      await client.close();
    }

    const html = readFileSync(report, 'utf8');
    const data = JSON.parse(/<script type="application\/json" id="loadtest-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as Summary;
    expect(data.calls.succeeded).toBe(6);
    expect(data.series.some((p) => p.activeCalls === 6)).toBe(true);
    expect(html).toContain('id="chart-relay"');
    expect(html).toContain('<h2>Generator</h2>');
    expect(html).toContain('PASSED');
  }, 120_000);

  it('exits 1 when a threshold is missed, reusing the seeded hosts', { timeout: 60_000 }, async () => {
    const res = await runCli([
      'loadtest', '--api', `http://127.0.0.1:${all.apiPort}`, '--signal', signalUrls[1]!, '-n', '2', '-d', '1s', '--json', '-q',
      '--reuse', '--state-file', join(dir, 'state.json'), '--max-p99-setup', '0.001ms', '--max-error-rate', '0.1%',
    ], {});
    expect(res.code, res.stderr).toBe(1);
    const s = JSON.parse(res.stdout) as Summary;
    expect(s.calls.succeeded).toBe(2);
    expect(s.thresholds).toEqual([
      expect.objectContaining({ name: 'max-p99-setup', passed: false }),
      expect.objectContaining({ name: 'max-error-rate', passed: true }),
    ]);
    expect(res.stderr).toContain('reusing 6 host(s)');
  });

  it('renews host tokens during a run, hands them to running calls, and keeps the newest refresh tokens', { timeout: 90_000 }, async () => {
    const stateFile = join(dir, 'state.json');
    const res = await runCli([
      'loadtest', '--api', `http://127.0.0.1:${all.apiPort}`, '--signal', signalUrls[0]!, '--signal', signalUrls[1]!, '-n', '2', '-d', '8s',
      '--churn', '100%', '--churn-delay', '300ms', '--refresh-before', '899s', '--json', '-q', '--reuse', '--state-file', stateFile,
    ], {});
    expect(res.code, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout) as Summary;
    expect(s.calls.succeeded).toBe(2);
    expect(s.resumes.attempted).toBeGreaterThan(0);
    expect(s.resumes.succeeded).toBe(s.resumes.attempted);
    expect(s.tokens.failed).toBe(0);
    expect(s.tokens.renewed).toBeGreaterThanOrEqual(6);
    expect(s.tokens.sentToCalls).toBeGreaterThan(0);
    expect(Object.keys(s.errorsByCode).filter((code) => code.startsWith('token_refresh'))).toEqual([]);

    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as SeedState;
    expect(state.hosts).toHaveLength(6);
    for (const host of state.hosts) {
      const refreshed = await fetch(`http://127.0.0.1:${all.apiPort}/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: host.refreshToken }) });
      expect(refreshed.status, host.email).toBe(200);
      host.refreshToken = ((await refreshed.json()) as { refresh_token: string }).refresh_token;
    }
    writeFileSync(stateFile, JSON.stringify(state));
  });

  it('exits 2 on bad options and explains --help', async () => {
    const bad = await runCli(['loadtest', '--calls', 'many'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--calls');
    const help = await runCli(['loadtest', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--max-p99-setup');
  });
});
