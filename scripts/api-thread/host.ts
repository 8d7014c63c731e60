import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ApiNode } from '../../api/main.js';
import type { Config } from '../../config/index.js';
import { PROJECT_ROOT } from '../../shared/runtime/paths.js';
import type { SignalNode } from '../../signal/main.js';
import type { ApiThreadData, FromApiThread, ToApiThread } from './protocol.js';

/** The compiled thread entry (run from TypeScript sources, as in tests, it is dist/'s). */
function entryFile(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.js') ? join(dirname(here), 'entry.js') : join(PROJECT_ROOT, 'dist', 'scripts', 'api-thread', 'entry.js');
}

export interface ApiThread extends ApiNode {
  /** Settles with the reason if the thread ends without being asked to (a crash). */
  died: Promise<Error>;
}

/**
 * Starts the API on a worker thread and answers its signal link from the main thread's signal
 * node (`signal()`; undefined until started: nobody is online, announcements are dropped).
 */
export function startApiThread(options: {
  config: Config; mongoUrl: string; log: Logger; linkToSignal: boolean; signal: () => SignalNode | undefined;
}): Promise<ApiThread> {
  const { config, log } = options;
  const data: ApiThreadData = { config, mongoUrl: options.mongoUrl, linkToSignal: options.linkToSignal };
  const worker = new Worker(entryFile(), { workerData: data, stdout: false, stderr: false });
  const post = (message: ToApiThread): void => worker.postMessage(message);
  let stopping = false;
  let stopped: (() => void) | undefined;
  let reportDeath: (err: Error) => void = () => undefined;
  const died = new Promise<Error>((resolve) => { reportDeath = resolve; });

  return new Promise((resolve, reject) => {
    let started = false;
    worker.on('message', (message: FromApiThread) => {
      switch (message.type) {
        case 'presence':
          post({ type: 'presence', id: message.id, online: options.signal()?.isUserOnline(message.userId) ?? false });
          return;
        case 'announce':
          options.signal()?.applyCallState(message.announcement);
          return;
        case 'listening': {
          started = true;
          let closing: Promise<void> | undefined;
          resolve({
            port: message.port,
            died,
            close: () => (closing ??= new Promise<void>((done) => {
              stopping = true;
              stopped = done;
              post({ type: 'stop' });
              // The thread bounds its own shutdown; this is the backstop if it cannot answer.
              const backstop = setTimeout(() => { void worker.terminate(); done(); }, config.shutdownTimeoutMs + 1000);
              backstop.unref();
            })),
          });
          return;
        }
        case 'failed':
          reject(new Error(`api thread failed to start: ${message.message}`));
          return;
        case 'stopped':
          stopped?.();
      }
    });
    worker.on('error', (err) => {
      log.error({ err }, 'api thread crashed');
      if (!started) reject(err);
      else reportDeath(err);
    });
    worker.on('exit', (code) => {
      stopped?.();
      if (!started) reject(new Error(`api thread exited with ${code} before listening`));
      else if (!stopping) reportDeath(new Error(`api thread exited with ${code}`));
    });
  });
}
