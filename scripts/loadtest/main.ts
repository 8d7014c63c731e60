import { writeFileSync } from 'node:fs';
import { ApiClient, ApiError } from './api-client.js';
import { systemClock } from './clock.js';
import { helpText, parseOptions, socketsPerWorker, WORKER_FD_MARGIN, type LoadtestOptions } from './options.js';
import { softFdLimit } from './process-meter.js';
import { renderHtmlReport } from './report-html.js';
import { runCalls } from './run.js';
import { seedHosts } from './seed.js';
import { formatSummary } from './summary.js';
import { TokenRefresher } from './token-refresher.js';

/** Exit codes: 0 every threshold met, 1 a threshold missed, 2 bad options or the run could not start. */
export const EXIT = { ok: 0, thresholdMissed: 1, cannotRun: 2 } as const;

/**
 * `vidivo loadtest …`: parses options, seeds (or reuses) hosts and links through the REST API,
 * runs the calls, prints the summary (text, or JSON with --json), writes the HTML report, and
 * resolves with the exit code.
 */
export async function runLoadtest(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let options: LoadtestOptions | 'help';
  try {
    options = parseOptions(argv, env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\nRun "vidivo loadtest --help" for the options.\n`);
    return EXIT.cannotRun;
  }
  if (options === 'help') {
    process.stdout.write(helpText() + '\n');
    return EXIT.ok;
  }
  const o = options;
  const fdLimit = softFdLimit();
  const perWorker = socketsPerWorker(o);
  if (fdLimit !== null && perWorker + WORKER_FD_MARGIN > fdLimit) {
    const needed = Math.ceil(Math.min(o.calls, o.concurrency, o.hosts) * 2 / Math.max(1, fdLimit - WORKER_FD_MARGIN));
    process.stderr.write(`${o.workers} worker(s) would hold ${perWorker} sockets each, but a process may open ${fdLimit} descriptors: use --workers ${needed} or more (or raise ulimit -n)\n`);
    return EXIT.cannotRun;
  }
  const status = (line: string) => { if (!o.quiet) process.stderr.write(line + '\n'); };
  const api = new ApiClient(o.api);
  const refresher = new TokenRefresher(systemClock, { refreshBeforeMs: o.refreshBeforeMs, parallelism: 8, retryMs: 10_000, tickMs: 1000 });
  refresher.start();
  let seeded;
  try {
    seeded = await seedHosts({
      api, apiUrl: o.api, hosts: o.hosts, stateFile: o.stateFile, reuse: o.reuse, hostPassword: o.hostPassword, clock: systemClock, refresher,
      ...(o.adminEmail ? { adminEmail: o.adminEmail } : {}), ...(o.adminPassword ? { adminPassword: o.adminPassword } : {}),
      log: (line) => process.stderr.write(line + '\n'),
    });
  } catch (err) {
    const hint = err instanceof ApiError && err.code === 'admin_credentials_required'
      ? 'seeding hosts needs --admin-email/--admin-password (or LOADTEST_ADMIN_EMAIL/LOADTEST_ADMIN_PASSWORD), or --reuse with a state file'
      : err instanceof ApiError && err.code === 'rate_limited'
        ? 'the API rate-limited the generator: add its addresses to RATE_LIMIT_EXEMPT_IPS on the target (docs/load-testing.md)'
        : '';
    process.stderr.write(`seeding failed: ${(err as Error).message}${hint ? `\n${hint}` : ''}\n`);
    await refresher.stop();
    return EXIT.cannotRun;
  }
  if (o.seedOnly) {
    await refresher.stop();
    seeded.stateFile.flush();
    process.stderr.write(`${seeded.hosts.length} host(s) ready in ${o.stateFile}; run with --reuse\n`);
    return EXIT.ok;
  }
  const summary = await runCalls(o, seeded.hosts, refresher, status);
  await refresher.stop();
  seeded.stateFile.flush();
  if (o.report) writeFileSync(o.report, renderHtmlReport(summary));
  process.stdout.write((o.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)) + '\n');
  if (o.report && !o.json) process.stdout.write(`report: ${o.report}\n`);
  return summary.passed ? EXIT.ok : EXIT.thresholdMissed;
}
