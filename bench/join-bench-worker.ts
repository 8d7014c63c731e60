import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Histogram, type HistogramData } from '../scripts/loadtest/histogram.js';
import { BenchPeer, PeerError, type Frame } from './bench-peer.js';

/** One socket to open: slot `slot` of the schedule (opened at `t0 + slot / rate`). */
export interface JoinSlot {
  slot: number;
  callId: string;
  peer: 'host' | 'guest';
  token: string;
}

export type ToJoinWorker = { kind: 'run'; url: string; t0: number; rate: number; slots: JoinSlot[]; joinTimeoutMs: number; activeTimeoutMs: number } | { kind: 'stop' };

export interface JoinWorkerResult {
  kind: 'done';
  /** From the WebSocket `open` event to the `join` ack. */
  openToJoined: HistogramData;
  /** From the scheduled time to the `open` event (TCP + upgrade, token check). */
  connect: HistogramData;
  /** How late sockets were opened against the schedule (this process's own delay). */
  lateStart: HistogramData;
  joined: number;
  /** Sockets that saw `call-state` `active` (before the deadline). */
  sawActive: number;
  failures: Record<string, number>;
  loopDelayMs: { p99: number; max: number };
}

const peers: BenchPeer[] = [];

function count(into: Record<string, number>, reason: string): void {
  into[reason] = (into[reason] ?? 0) + 1;
}

/** Opens every slot at its time, joins at once, and waits for `active` on each socket; keeps the sockets open. */
async function run(message: Extract<ToJoinWorker, { kind: 'run' }>): Promise<JoinWorkerResult> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const openToJoined = new Histogram();
  const connect = new Histogram();
  const lateStart = new Histogram();
  const failures: Record<string, number> = {};
  let joined = 0;
  let sawActive = 0;
  const nowEpoch = (): number => performance.timeOrigin + performance.now();

  const one = async (slot: JoinSlot): Promise<void> => {
    const due = message.t0 + (slot.slot * 1000) / message.rate;
    const wait = due - nowEpoch();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const started = nowEpoch();
    lateStart.record(Math.max(0, started - due));
    let active!: () => void;
    const activeSeen = new Promise<void>((resolve) => { active = resolve; });
    try {
      const peer = await BenchPeer.open(`${message.url}/signal/ws?token=${slot.token}`, { timeoutMs: message.joinTimeoutMs });
      peers.push(peer);
      peer.onFrame = (frame: Frame) => {
        if (frame.type === 'call-state' && frame.data?.status === 'active') active();
        if (frame.type === 'ack' && frame.data?.call?.status === 'active') active();
      };
      const opened = nowEpoch();
      connect.record(opened - started);
      const reply = await peer.request('join', {}, message.joinTimeoutMs);
      if (reply.type !== 'ack') throw new PeerError(`join:${String(reply.data?.code ?? reply.type)}`);
      openToJoined.record(nowEpoch() - opened);
      joined += 1;
    } catch (err) {
      count(failures, err instanceof PeerError ? err.reason : `error:${(err as Error).message.slice(0, 60)}`);
      return;
    }
    const deadline = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), message.activeTimeoutMs).unref());
    if ((await Promise.race([activeSeen, deadline])) === 'late') count(failures, 'active:timeout');
    else sawActive += 1;
  };

  await Promise.all(message.slots.map(one));
  loop.disable();
  return {
    kind: 'done', openToJoined: openToJoined.toJSON(), connect: connect.toJSON(), lateStart: lateStart.toJSON(), joined, sawActive, failures,
    loopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
  };
}

process.on('message', (message: ToJoinWorker) => {
  if (message.kind === 'stop') {
    for (const peer of peers) peer.terminate();
    process.exit(0);
  }
  run(message).then((result) => process.send!(result), (err: unknown) => {
    process.stderr.write(`join worker failed: ${(err as Error).stack}\n`);
    process.exit(1);
  });
});
