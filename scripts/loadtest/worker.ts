import { ApiClient } from './api-client.js';
import { CallDriver, type CallPlan } from './call-driver.js';
import type { WorkerUsage } from './generator-usage.js';
import type { FromWorker, ToWorker } from './ipc.js';
import { ProcessMeter } from './process-meter.js';
import { callRandom } from './prng.js';
import { StatsRecorder } from './stats.js';

/**
 * A worker process: owns the sockets of the calls the parent assigns, reports stats deltas and
 * its own resource use every second over IPC, and on `stop` waits for its calls to end, sends a
 * final report and exits. A call's state is dropped when the call ends.
 */
function send(message: FromWorker): void {
  process.send?.(message);
}

function runWorker(): void {
  const stats = new StatsRecorder();
  const meter = new ProcessMeter();
  const running = new Set<Promise<void>>();
  const drivers = new Map<number, CallDriver>();
  let init: Extract<ToWorker, { kind: 'init' }> | undefined;
  let api: ApiClient | undefined;
  let nextAddress = 0;
  let stopping = false;
  let reporter: NodeJS.Timeout | undefined;
  let baselineRssBytes = 0;
  let peakSockets = 0;
  let rssAtPeakSocketsBytes = 0;

  const usage = (worker: number): WorkerUsage => {
    const rss = meter.sample();
    if (stats.sockets > peakSockets) {
      peakSockets = stats.sockets;
      rssAtPeakSocketsBytes = rss;
    }
    return { worker, ...meter.usage(), recentCpuPct: Math.round(meter.lastCpuPct * 10) / 10, baselineRssBytes, peakSockets, rssAtPeakSocketsBytes };
  };

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
      case 'init': {
        init = message;
        api = new ApiClient(message.api);
        baselineRssBytes = meter.sample();
        rssAtPeakSocketsBytes = baselineRssBytes;
        const worker = message.worker;
        reporter = setInterval(() => send({ kind: 'stats', delta: stats.drain(), usage: usage(worker) }), 1000);
        send({ kind: 'ready' });
        return;
      }
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
          send({ kind: 'stopped', delta: stats.drain(), usage: usage(init?.worker ?? 0) });
          meter.close();
          setTimeout(() => process.exit(0), 50);
        });
        return;
    }
  });
  process.on('disconnect', () => process.exit(0));
}

runWorker();
