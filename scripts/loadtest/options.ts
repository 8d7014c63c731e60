import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration, parseRatio } from './units.js';

/** Everything a run is configured with, validated and in base units (ms, ratios, counts). */
export interface LoadtestOptions {
  api: string;
  signal: string[];
  calls: number;
  concurrency: number;
  rampPerSec: number;
  durationMs: number;
  pingIntervalMs: number;
  muteIntervalMs: number;
  candidates: number;
  churn: number;
  churnDelayMs: number;
  seed: string;
  workers: number;
  localAddresses: string[];
  adminEmail?: string;
  adminPassword?: string;
  hostPassword: string;
  hosts: number;
  stateFile: string;
  reuse: boolean;
  seedOnly: boolean;
  json: boolean;
  report?: string;
  quiet: boolean;
  setupTimeoutMs: number;
  refreshBeforeMs: number;
  thresholds: { maxP99SetupMs?: number; maxP99RelayMs?: number; maxErrorRate?: number; minCalls?: number };
}

interface OptionDoc {
  name: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  value?: string;
  default?: string;
  doc: string;
}

/** The option table: parser and `--help` come from this single list. */
export const OPTION_DOCS: OptionDoc[] = [
  { name: 'api', type: 'string', value: 'URL', default: 'http://127.0.0.1:3000', doc: 'Base URL of the REST API (env LOADTEST_API).' },
  { name: 'signal', type: 'string', multiple: true, value: 'URL', doc: 'Signaling URL(s), e.g. ws://10.0.0.5:3001/v1/signal; repeat for several nodes (calls alternate between them). Default: the URL the calls API returns with each token.' },
  { name: 'calls', short: 'n', type: 'string', value: 'N', default: '100', doc: 'Calls to run in total (2 sockets each).' },
  { name: 'concurrency', short: 'c', type: 'string', value: 'N', doc: 'Most calls in flight at once (default: --calls, i.e. all of them).' },
  { name: 'ramp', type: 'string', value: 'PER_SEC', default: '50', doc: 'Call starts per second while ramping up.' },
  { name: 'duration', short: 'd', type: 'string', value: 'TIME', default: '30s', doc: 'How long each call stays up after it is active, then the guest hangs up (500ms, 30s, 5m; bare number = seconds; at most 23h).' },
  { name: 'ping-interval', type: 'string', value: 'TIME', default: '10s', doc: 'Each socket sends `ping` this often.' },
  { name: 'mute-interval', type: 'string', value: 'TIME', default: '5s', doc: 'Each peer relays a `mute-state` change this often (measured as relay latency).' },
  { name: 'candidates', type: 'string', value: 'N', default: '4', doc: 'ICE candidates trickled by each peer during setup, then end-of-candidates.' },
  { name: 'churn', type: 'string', value: 'SHARE', default: '0', doc: 'Share of sockets that drop mid-call and resume with a fresh token and their last seq (10%, 0.1).' },
  { name: 'churn-delay', type: 'string', value: 'TIME', default: '1s', doc: 'How long a churned socket stays away before resuming.' },
  { name: 'setup-timeout', type: 'string', value: 'TIME', default: '20s', doc: 'A call not active within this time counts as failed (setup_timeout).' },
  { name: 'seed', type: 'string', value: 'SEED', default: 'vidivo', doc: 'Random seed: the same seed picks the same churned sockets, timings and mute patterns.' },
  { name: 'workers', short: 'w', type: 'string', value: 'N', doc: 'Worker processes owning the sockets (default: enough for 8,000 sockets each, at least 1; each process is capped by its open-file limit).' },
  { name: 'local-address', type: 'string', multiple: true, value: 'IP', doc: 'Source address(es) to spread sockets over (e.g. 127.0.0.2); default 127.0.0.1-127.0.0.8 against a loopback target, the system choice otherwise.' },
  { name: 'admin-email', type: 'string', value: 'EMAIL', doc: 'Admin account used to seed hosts (env LOADTEST_ADMIN_EMAIL); see `vidivo create-admin`.' },
  { name: 'admin-password', type: 'string', value: 'PASSWORD', doc: 'Its password (env LOADTEST_ADMIN_PASSWORD; prefer the env over the command line).' },
  { name: 'hosts', type: 'string', value: 'N', doc: 'Test hosts to seed (a host takes one call at a time; default: the concurrency).' },
  { name: 'host-password', type: 'string', value: 'PASSWORD', doc: 'Password given to seeded hosts (default: random, kept in the state file).' },
  { name: 'state-file', type: 'string', value: 'PATH', default: '.loadtest-state.json', doc: 'Where seeded hosts and links are kept for --reuse.' },
  { name: 'reuse', type: 'boolean', doc: 'Reuse the hosts and links of the state file (seeding only what is missing).' },
  { name: 'seed-only', type: 'boolean', doc: 'Seed (or sign in) the hosts and their links, write the state file and exit: prepare a large run ahead, then run it with --reuse.' },
  { name: 'refresh-before', type: 'string', value: 'TIME', default: '5m', doc: 'Renew a host\'s access token (15 min) once less than this is left, one refresh at a time per host; the newest refresh token goes to the state file.' },
  { name: 'max-p99-setup', type: 'string', value: 'TIME', doc: 'Fail (exit 1) when the p99 call setup time exceeds this.' },
  { name: 'max-p99-relay', type: 'string', value: 'TIME', doc: 'Fail when the p99 relay latency exceeds this.' },
  { name: 'max-error-rate', type: 'string', value: 'SHARE', doc: 'Fail when failed calls / attempted calls exceeds this (0.1%, 0.001).' },
  { name: 'min-calls', type: 'string', value: 'N', doc: 'Fail when fewer calls than this succeed.' },
  { name: 'json', type: 'boolean', doc: 'Print the final summary as JSON on stdout (status lines still go to stderr).' },
  { name: 'report', type: 'string', value: 'PATH', doc: 'Write a self-contained HTML report (charts over time) to PATH.' },
  { name: 'quiet', short: 'q', type: 'boolean', doc: 'No per-second status line.' },
  { name: 'help', short: 'h', type: 'boolean', doc: 'Show this help.' },
];

/** The `--help` text, generated from OPTION_DOCS. */
export function helpText(): string {
  const lines = OPTION_DOCS.map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}`;
    return `  ${flag.padEnd(30)} ${o.doc}${o.default ? ` [default: ${o.default}]` : ''}`;
  });
  return [
    'Usage: vidivo loadtest [options]',
    '',
    'Runs N concurrent calls against a deployment through its real REST API and signaling tier:',
    'guest session -> join by link -> host-join -> both sockets join -> offer/answer -> trickled',
    'candidates -> pings and mute-state changes (optional churn: drop + resume) -> hangup.',
    'Prints a status line per second to stderr and a summary at the end; exits 1 when a threshold',
    'is missed, 2 on bad options or when the run cannot start.',
    '',
    'Options:',
    ...lines,
    '',
    'Example: vidivo loadtest --api http://10.0.0.5:3000 -n 2000 --ramp 100 -d 60s --churn 5% \\',
    '           --max-p99-setup 500ms --max-error-rate 0.1% --report report.html',
    'Details: docs/load-testing.md',
  ].join('\n');
}

function integer(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new TypeError(`--${name} must be an integer >= ${min} (got "${text}")`);
  return value;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`--${name} must be a number > 0 (got "${text}")`);
  return value;
}

/** Sockets a worker gets by default (the machines this was built on cap a process at 20,000 descriptors). */
export const SOCKETS_PER_WORKER = 8000;
/** Descriptors a worker needs beyond its sockets (REST connections, pipes, files). */
export const WORKER_FD_MARGIN = 1000;

/** The sockets each worker holds at peak: two per concurrent call, split evenly. */
export function socketsPerWorker(o: Pick<LoadtestOptions, 'calls' | 'concurrency' | 'hosts' | 'workers'>): number {
  return Math.ceil((Math.min(o.calls, o.concurrency, o.hosts) * 2) / o.workers);
}

/** Longest `--duration`: a guest session lasts 24 h and cannot be renewed, and it must outlive its call. */
export const MAX_CALL_DURATION_MS = 23 * 3_600_000;

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  } catch {
    return false;
  }
}

/** Parses argv (without the command name); `env` supplies the documented LOADTEST_* fallbacks. Throws TypeError on bad input. */
export function parseOptions(argv: string[], env: Record<string, string | undefined> = {}): LoadtestOptions | 'help' {
  const spec = Object.fromEntries(OPTION_DOCS.map((o) => [o.name, { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }]));
  const { values } = parseArgs({ args: argv, options: spec as NonNullable<ParseArgsConfig['options']>, strict: true, allowPositionals: false });
  const v = values as Record<string, string | boolean | string[] | undefined>;
  if (v['help']) return 'help';
  const str = (name: string): string | undefined => v[name] as string | undefined;
  const def = (name: string): string => OPTION_DOCS.find((o) => o.name === name)!.default!;
  const api = (str('api') ?? env['LOADTEST_API'] ?? def('api')).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(api)) throw new TypeError(`--api must be an http(s) URL (got "${api}")`);
  const signal = (v['signal'] as string[] | undefined) ?? [];
  for (const url of signal) if (!/^wss?:\/\//.test(url)) throw new TypeError(`--signal must be a ws(s) URL (got "${url}")`);
  const calls = integer('calls', str('calls') ?? def('calls'), 1);
  const concurrency = str('concurrency') ? integer('concurrency', str('concurrency')!, 1) : calls;
  const loopback = isLoopback(api) && signal.every(isLoopback);
  const localAddresses = (v['local-address'] as string[] | undefined) ?? (loopback ? Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`) : []);
  const workers = str('workers') ? integer('workers', str('workers')!, 1) : Math.max(1, Math.ceil((Math.min(calls, concurrency) * 2) / SOCKETS_PER_WORKER));
  const thresholds: LoadtestOptions['thresholds'] = {};
  if (str('max-p99-setup')) thresholds.maxP99SetupMs = parseDuration(str('max-p99-setup')!);
  if (str('max-p99-relay')) thresholds.maxP99RelayMs = parseDuration(str('max-p99-relay')!);
  if (str('max-error-rate')) thresholds.maxErrorRate = parseRatio(str('max-error-rate')!);
  if (str('min-calls')) thresholds.minCalls = integer('min-calls', str('min-calls')!, 0);
  const adminEmail = str('admin-email') ?? env['LOADTEST_ADMIN_EMAIL'];
  const adminPassword = str('admin-password') ?? env['LOADTEST_ADMIN_PASSWORD'];
  const hostPassword = str('host-password');
  const report = str('report');
  const durationMs = parseDuration(str('duration') ?? def('duration'), 's');
  if (durationMs > MAX_CALL_DURATION_MS) throw new TypeError(`--duration must be at most 23h: a guest session lasts 24 h and cannot be renewed (got "${str('duration')}")`);
  const refreshBeforeMs = parseDuration(str('refresh-before') ?? def('refresh-before'), 's');
  if (refreshBeforeMs <= 0) throw new TypeError(`--refresh-before must be > 0 (got "${str('refresh-before')}")`);
  return {
    api,
    signal,
    calls,
    concurrency,
    rampPerSec: positive('ramp', str('ramp') ?? def('ramp')),
    durationMs,
    pingIntervalMs: Math.max(100, parseDuration(str('ping-interval') ?? def('ping-interval'), 's')),
    muteIntervalMs: Math.max(100, parseDuration(str('mute-interval') ?? def('mute-interval'), 's')),
    candidates: integer('candidates', str('candidates') ?? def('candidates'), 0),
    churn: parseRatio(str('churn') ?? def('churn')),
    churnDelayMs: parseDuration(str('churn-delay') ?? def('churn-delay'), 's'),
    setupTimeoutMs: parseDuration(str('setup-timeout') ?? def('setup-timeout'), 's'),
    refreshBeforeMs,
    seed: str('seed') ?? def('seed'),
    workers,
    localAddresses,
    ...(adminEmail ? { adminEmail } : {}),
    ...(adminPassword ? { adminPassword } : {}),
    hostPassword: hostPassword ?? '',
    hosts: str('hosts') ? integer('hosts', str('hosts')!, 1) : Math.min(calls, concurrency),
    stateFile: str('state-file') ?? def('state-file'),
    reuse: v['reuse'] === true,
    seedOnly: v['seed-only'] === true,
    json: v['json'] === true,
    ...(report ? { report } : {}),
    quiet: v['quiet'] === true,
    thresholds,
  };
}
