import { ApiClient } from './api-client.js';
import { CallDriver, type CallPlan } from './call-driver.js';
import type { FromWorker, ToWorker } from './ipc.js';
import { callRandom } from './prng.js';
import { StatsRecorder } from './stats.js';

/**
 * A worker process: owns the sockets of the calls the parent assigns, reports stats deltas
 * every second over IPC, and on `stop` waits for its calls to end, sends a final delta and exits.
 */
function send(message: FromWorker): void {
  process.send?.(message);
}

function runWorker(): void {
  const stats = new StatsRecorder();
  const running = new Set<Promise<void>>();
  const drivers = new Map<number, CallDriver>();
  let init: Extract<ToWorker, { kind: 'init' }> | undefined;
  let api: ApiClient | undefined;
  let nextAddress = 0;
  let stopping = false;
  const reporter = setInterval(() => send({ kind: 'stats', delta: stats.drain() }), 1000);

  const start = (message: Extract<ToWorker, { kind: 'start' }>) => {
    if (!init || !api || stopping) return;
    const addresses = init.localAddresses;
    const plan: CallPlan = init.plan;
    const driver = new CallDriver(message.call, {
      api, stats, plan,
      random: callRandom(init.seed, message.call.index),
      localAddress: () => (addresses.length ? addresses[nextAddress++ % addresses.length] : undefined),
    });
    drivers.set(message.call.index, driver);
    const p = driver.run().finally(() => {
      running.delete(p);
      drivers.delete(message.call.index);
      send({ kind: 'done', index: message.call.index });
    });
    running.add(p);
  };

  process.on('message', (message: ToWorker) => {
    switch (message.kind) {
      case 'init':
        init = message;
        api = new ApiClient(message.api);
        send({ kind: 'ready' });
        return;
      case 'start':
        start(message);
        return;
      case 'host-token':
        if (drivers.get(message.index)?.setHostToken(message.token)) stats.add('hostTokenUpdates');
        return;
      case 'stop':
        stopping = true;
        void Promise.allSettled([...running]).then(() => {
          clearInterval(reporter);
          send({ kind: 'stopped', delta: stats.drain() });
          setTimeout(() => process.exit(0), 50);
        });
        return;
    }
  });
  process.on('disconnect', () => process.exit(0));
}

runWorker();
