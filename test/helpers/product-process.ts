import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../shared/runtime/paths.js';

export interface ProductProcess {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: Array<Record<string, unknown>>;
  apiPort?: number;
  signalPort?: number;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Runs `node dist/scripts/cli.js <mode>` with `env` (on top of a minimal base) and resolves once
 * the servers the mode starts have logged their listening ports; `openFilesLimit` lowers its
 * open-file limit.
 */
export async function startProductProcess(
  mode: 'all' | 'api' | 'signal', env: Record<string, string>, timeoutMs = 60000, options: { openFilesLimit?: number } = {},
): Promise<ProductProcess> {
  const command = [process.execPath, join(PROJECT_ROOT, 'dist', 'scripts', 'cli.js'), mode];
  // `ulimit -n` (soft and hard) in a shell that then becomes the process: Node has no setrlimit.
  const [file, args] = options.openFilesLimit === undefined
    ? [command[0]!, command.slice(1)]
    : ['/bin/sh', ['-c', `ulimit -n ${options.openFilesLimit} && exec "$0" "$@"`, ...command]];
  const child = spawn(file, args, {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', LOG_LEVEL: 'info', API_PORT: '0', SIGNAL_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-20000); });
  const proc: ProductProcess = {
    child,
    logs: [],
    exited: once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null })),
    stderr: () => stderr,
    kill: (signal = 'SIGTERM') => { child.kill(signal); },
  };
  const wantApi = mode !== 'signal';
  const wantSignal = mode !== 'api';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`product did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    proc.exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`product exited with ${code} before listening: ${stderr}`)); });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      proc.logs.push(entry);
      if (entry['msg'] === 'api listening') proc.apiPort = entry['port'] as number;
      if (entry['msg'] === 'signal listening') proc.signalPort = entry['port'] as number;
      if ((!wantApi || proc.apiPort) && (!wantSignal || proc.signalPort)) { clearTimeout(timer); resolve(); }
    });
  });
  return proc;
}
