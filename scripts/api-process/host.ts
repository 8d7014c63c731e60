import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { ApiNode } from '../../api/main.js';
import type { Config } from '../../config/index.js';
import { PROJECT_ROOT } from '../../shared/runtime/paths.js';
import type { SignalNode } from '../../signal/main.js';
import type { ApiProcessData, FromApiProcess, ToApiProcess } from './protocol.js';

/** The compiled entry (run from TypeScript sources, as in tests, it is dist/'s). */
function entryFile(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.js') ? join(dirname(here), 'entry.js') : join(PROJECT_ROOT, 'dist', 'scripts', 'api-process', 'entry.js');
}

export interface ApiProcess extends Pick<ApiNode, 'port' | 'close'> {
  /** Settles with the reason if the API process ends without being asked to (a crash). */
  died: Promise<Error>;
  /** Once the signal node listens: the API port forwards `/v1/chat/ws` upgrades to it. */
  forwardChat(target: { host: string; port: number }): void;
}

/**
 * Starts the API in a child process and answers its signal link from this process's signal node
 * (`signal()`; undefined until started: nobody is online, announcements are dropped).
 */
export function startApiProcess(options: {
  config: Config; mongoUrl: string; log: Logger; linkToSignal: boolean; signal: () => SignalNode | undefined;
}): Promise<ApiProcess> {
  const { config, log } = options;
  const data: ApiProcessData = { config, mongoUrl: options.mongoUrl, linkToSignal: options.linkToSignal };
  // stdout/stderr are this process's own descriptors: the API's log lines never pass through this event loop.
  // No inspector flags: the child would contend for the parent's inspector port.
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--inspect'));
  const child = fork(entryFile(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', env: process.env, execArgv });
  const post = (message: ToApiProcess): void => { if (child.connected) child.send(message); };
  let stopping = false;
  let stopped: (() => void) | undefined;
  let reportDeath: (err: Error) => void = () => undefined;
  const died = new Promise<Error>((resolve) => { reportDeath = resolve; });
  post({ type: 'init', data });

  return new Promise((resolve, reject) => {
    let started = false;
    child.on('message', (message: FromApiProcess) => {
      switch (message.type) {
        case 'presence':
          post({ type: 'presence', id: message.id, online: options.signal()?.isUserOnline(message.userId) ?? false });
          return;
        case 'announce':
          options.signal()?.applyCallState(message.announcement);
          return;
        case 'cache-call':
          options.signal()?.cacheCall(message.call);
          return;
        case 'chat':
          options.signal()?.deliverChat(message.userIds, message.event);
          return;
        case 'listening': {
          started = true;
          let closing: Promise<void> | undefined;
          resolve({
            port: message.port,
            died,
            forwardChat: (target) => post({ type: 'forward-chat', ...target }),
            close: () => (closing ??= new Promise<void>((done) => {
              stopping = true;
              stopped = done;
              if (child.exitCode !== null || child.signalCode !== null) return done();
              post({ type: 'stop' });
              // The API bounds its own shutdown; this is the backstop if it cannot answer.
              const backstop = setTimeout(() => { child.kill('SIGKILL'); }, config.shutdownTimeoutMs + 1000);
              backstop.unref();
            })),
          });
          return;
        }
        case 'failed':
          reject(new Error(`api process failed to start: ${message.message}`));
          return;
        case 'stopped':
          return;
      }
    });
    child.on('error', (err) => {
      log.error({ err }, 'api process error');
      if (!started) reject(err);
    });
    child.on('exit', (code, signal) => {
      stopped?.();
      if (!started) reject(new Error(`api process exited (${code ?? signal}) before listening`));
      else if (!stopping) {
        log.error({ code, signal }, 'api process exited unasked');
        reportDeath(new Error(`api process exited (${code ?? signal})`));
      }
    });
  });
}
