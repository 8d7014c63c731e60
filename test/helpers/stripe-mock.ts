import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cachedToolPath } from '../../shared/runtime/go-tools.js';

export interface StripeMock {
  /** Base URL for STRIPE_API_BASE, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Stops the process (SIGTERM, then SIGKILL); safe to call twice. */
  stop(): Promise<void>;
}

/** A key stripe-mock accepts (it checks only the `sk_test_` shape). */
export const STRIPE_TEST_KEY = 'sk_test_vidivo123';

const LISTENING = /Listening for HTTP at address: 127\.0\.0\.1:(\d+)/;

/**
 * Spawns the stripe-mock binary built into .cache/bin (`vidivo tools`) on an ephemeral loopback
 * port (HTTP and its HTTPS listener both on 127.0.0.1, port chosen by the kernel, read back from
 * its log, so parallel test files never race for a port). One per test file.
 */
export async function startStripeMock(startTimeoutMs = 30000): Promise<StripeMock> {
  const bin = cachedToolPath('stripe-mock');
  if (!bin) throw new Error('stripe-mock is not built: run `npx vidivo tools` (builds .cache/bin/stripe-mock)');
  const child = spawn(bin, ['-http-addr', '127.0.0.1:0', '-https-addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`stripe-mock did not start within ${startTimeoutMs} ms: ${output.slice(-500)}`)), startTimeoutMs);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000);
      const match = LISTENING.exec(output);
      if (match) { clearTimeout(timer); resolve(Number(match[1])); }
    };
    function fail(err: Error): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`stripe-mock exited (code ${code}) before listening: ${output.slice(-500)}`)));
  });
  child.stdout.resume();
  child.stderr.resume();
  return { url: `http://127.0.0.1:${port}`, port, stop: () => stopChild(child) };
}

const stopping = new WeakMap<ChildProcess, Promise<void>>();

function stopChild(child: ChildProcess): Promise<void> {
  const existing = stopping.get(child);
  if (existing) return existing;
  const done = (async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  })();
  stopping.set(child, done);
  return done;
}
