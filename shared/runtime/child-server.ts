import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { waitForPort } from './net.js';
import { which } from './paths.js';

/**
 * How a child server is made to die with this process however this process dies (SIGKILL
 * included): on Linux through util-linux `setpriv --pdeathsig TERM`, which arms the kernel's
 * parent-death signal and then execs the server (so the child's pid is the server's). Our FerretDB
 * wrapper also arms it itself, from `VIDIVO_PARENT_PID`, and exits if this process is already gone.
 * Elsewhere, or without setpriv: the server is spawned directly (the parent stops it on exit).
 */
function dieWithParent(command: string, args: string[]): [string, string[]] {
  if (process.platform !== 'linux') return [command, args];
  const setpriv = which('setpriv') ?? which('setpriv', '/usr/bin:/bin:/usr/sbin:/sbin');
  return setpriv ? [setpriv, ['--pdeathsig', 'TERM', '--', command, ...args]] : [command, args];
}

export interface ChildServer {
  readonly process: ChildProcess;
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL after `graceMs`); safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns a server binary that dies with this process (see `dieWithParent`), waits until it
 * accepts connections on `port`, and keeps the last lines of its stderr for the error message if
 * it dies first.
 */
export async function startChildServer(
  command: string,
  args: string[],
  port: number,
  options: { host?: string; startTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildServer> {
  const host = options.host ?? '127.0.0.1';
  const [file, argv] = dieWithParent(command, args);
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...(options.env ?? process.env), VIDIVO_PARENT_PID: String(process.pid) } });
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
