import { spawn, spawnSync } from 'node:child_process';

/** A running `tcpdump` writing the data-carrying TCP segments to and from some loopback endpoints to a pcap file. */
export interface WireCapture {
  readonly pid: number;
  readonly file: string;
  /** Stops the capture once the kernel has handed over what it holds; safe to call twice. */
  stop(): Promise<WireCaptureCounts>;
}

/** tcpdump's own counts at exit. */
export interface WireCaptureCounts {
  captured: number;
  droppedByKernel: number;
}

/**
 * tcpdump hands a ring block to its writer when the block fills or after this timeout (libpcap's
 * default of 1 s), so a capture is stopped this long after the last packet it must keep.
 */
const BLOCK_TIMEOUT_MS = 1000;

/** Why a capture cannot run here, or undefined when it can. */
export function wireCaptureUnavailable(): string | undefined {
  const probe = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' });
  if (probe.error) return `tcpdump not found (${(probe.error as NodeJS.ErrnoException).code}); on Debian: apt-get install tcpdump`;
  return undefined;
}

/** An IPv4 listening endpoint on loopback. */
export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Starts `tcpdump -i lo` for the segments with a payload to or from `endpoints`, nanosecond
 * timestamps, a kernel buffer of `bufferMiB`. Resolves once tcpdump is listening; rejects with its
 * own message when it fails to start (no permission to capture, say) within 10 s.
 */
export function startWireCapture(file: string, endpoints: readonly Endpoint[], bufferMiB = 256): Promise<WireCapture> {
  const portFilter = endpoints.map(({ host, port }) => `(src host ${host} and src port ${port}) or (dst host ${host} and dst port ${port})`).join(' or ');
  const withPayload = '(((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)';
  const child = spawn('tcpdump', [
    '-i', 'lo', '-n', '-s', '0', '-B', String(bufferMiB * 1024), '-Z', 'root', '--time-stamp-precision=nano',
    '-w', file, `ip and tcp and (${portFilter}) and ${withPayload}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stopping: Promise<WireCaptureCounts> | undefined;
  const stop = (): Promise<WireCaptureCounts> => (stopping ??= (async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => setTimeout(resolve, BLOCK_TIMEOUT_MS + 500));
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    const count = (what: string) => Number(new RegExp(`(\\d+) packets? ${what}`).exec(stderr)?.[1] ?? NaN);
    return { captured: count('captured'), droppedByKernel: count('dropped by kernel') };
  })());
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (why: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (why === undefined) return resolve({ pid: child.pid!, file, stop });
      child.kill('SIGKILL');
      reject(new Error(`tcpdump did not start: ${why}`));
    };
    const timer = setTimeout(() => settle(`not listening after 10 s${stderr ? `: ${stderr.trim()}` : ''}`), 10_000);
    child.once('error', (err) => settle(err.message));
    child.once('exit', (code, signal) => settle(`exited (${code ?? signal}): ${stderr.trim()}`));
    child.stderr.on('data', () => {
      if (stderr.includes('listening on')) settle(undefined);
    });
  });
}
