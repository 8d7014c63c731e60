import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { waitForPort } from './net.js';

export interface ChildServer {
  readonly process: ChildProcess;
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL after `graceMs`); safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns a server binary, waits until it accepts connections on `port`, and keeps the last
 * lines of its stderr for the error message if it dies first.
 */
export async function startChildServer(
  command: string,
  args: string[],
  port: number,
  options: { host?: string; startTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildServer> {
  const host = options.host ?? '127.0.0.1';
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: options.env ?? process.env });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const exited = once(child, 'exit').then(() => {
    throw new Error(`${command} exited before listening (code ${child.exitCode}): ${stderr.trim().slice(-1000)}`);
  });
  const spawnFailed = once(child, 'error').then(([err]) => { throw err as Error; });
  try {
    await Promise.race([waitForPort(host, port, options.startTimeoutMs ?? 30000), exited, spawnFailed]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  exited.catch(() => undefined);
  spawnFailed.catch(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    process: child,
    port,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const done = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await done;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
