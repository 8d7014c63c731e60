import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Histogram } from '../scripts/loadtest/histogram.js';
import { MongoCallStore, isTerminal, type CallStatus, type Peer } from '../shared/calls/index.js';
import { newId } from '../shared/ids.js';
import { connectMongo } from '../shared/runtime/mongo/connect.js';
import { loadKeyRing, signToken } from '../shared/tokens/index.js';
import { BenchPeer, PeerError, closeReason, type Frame } from './bench-peer.js';
import { STAMP, type FromWorker, type PhaseCommon, type PhaseName, type PhaseResults, type Reasons, type ToWorker, type WorkerInit } from './signal-bench-ipc.js';

/** Candidates each peer trickles in the signaling phase. */
const CANDIDATES = 10;

interface Side {
  readonly name: Peer;
  readonly url: string;
  readonly token: string;
  peer: BenchPeer | undefined;
  joined: boolean;
  status: string;
  version: number;
  lastSeq: number;
  closeCode: number | undefined;
  ended: boolean;
  candidates: number;
}

type CallPhase = 'new' | 'setup' | 'active' | 'failed' | 'broken' | 'hangup' | 'ended';

class BenchCall {
  phase: CallPhase = 'new';
  wake: (() => void) | undefined;

  constructor(readonly id: string, readonly cross: boolean, readonly host: Side, readonly guest: Side) {}

  side(peer: Peer): Side {
    return peer === 'host' ? this.host : this.guest;
  }
}

const now = (): number => performance.now();

function send(message: FromWorker): void {
  process.send?.(message);
}

function count(reasons: Reasons, reason: string): void {
  reasons[reason] = (reasons[reason] ?? 0) + 1;
}

function reasonOf(err: unknown): string {
  return err instanceof PeerError ? err.reason : `error:${String((err as Error)?.message ?? err).slice(0, 60)}`;
}

function paths(): { local: Histogram; remote: Histogram } {
  return { local: new Histogram(), remote: new Histogram() };
}

/** `x-bench <tag><ms>`: the tag says which phase sent it, ms is this worker's performance.now(). */
function stamp(tag: 's' | 'r'): string {
  return `${STAMP}${tag}${now().toFixed(3)}`;
}

function readStamp(text: string): { tag: string; at: number } | undefined {
  const i = text.lastIndexOf(STAMP);
  if (i < 0) return undefined;
  const at = parseFloat(text.slice(i + STAMP.length + 1));
  return Number.isFinite(at) ? { tag: text[i + STAMP.length]!, at } : undefined;
}

function sdp(call: BenchCall, from: Peer): string {
  const lines = [
    'v=0', `o=- ${call.id} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=msid-semantic: WMS bench',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${from.slice(0, 4)}`, 'a=ice-pwd:benchbenchbenchbenchbench', 'a=ice-options:trickle',
    'a=fingerprint:sha-256 5B:D3:8E:66:0E:7D:D3:F3:8E:E6:80:28:19:FC:55:AD:58:5D:B9:3D:A8:DE:45:4A:E7:87:02:F8:3C:0B:3B:B3',
    `a=setup:${from === 'host' ? 'actpass' : 'active'}`, 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1', 'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sendrecv',
    'a=rtcp-mux', 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack pli', 'a=rtpmap:102 H264/90000',
    'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f', `a=${stamp('s')}`,
  ];
  return `${lines.join('\r\n')}\r\n`;
}

function candidateFrame(k: number, tag: 's' | 'r'): object {
  return {
    type: 'ice-candidate',
    data: { candidate: { candidate: `candidate:${k} 1 udp 2122260223 127.0.0.1 ${50000 + (k % 10000)} typ host generation 0 network-id ${init.worker} ${stamp(tag)}`, sdpMid: '0', sdpMLineIndex: 0 } },
  };
}

let init: WorkerInit;
let calls: BenchCall[] = [];
let setupCursor = 0;
let openSockets = 0;
let nextAddress = 0;
let drops: Reasons = {};
let progress: { phase: PhaseName; done: number; total: number } | undefined;
/** As coarse as the node's own monitor: a finer timer wakes every worker hundreds of times a second, taking CPU the node shares. */
const LOOP_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loopDelay.enable();
let relayStats = { received: 0, latency: paths() };
let signalingStats = { frames: 0, latency: paths() };

function sendRelay(call: BenchCall, from: Peer, frame: object): boolean {
  return call.side(from).peer?.send(frame) ?? false;
}

function onRelayed(call: BenchCall, side: Side, frame: Frame): void {
  const text: unknown = frame.type === 'ice-candidate' ? frame.data?.candidate?.candidate : frame.data?.sdp;
  if (typeof text !== 'string') return;
  const mark = readStamp(text);
  if (!mark) return;
  const ms = now() - mark.at;
  if (mark.tag === 'r') {
    relayStats.received += 1;
    (call.cross ? relayStats.latency.remote : relayStats.latency.local).record(ms);
    return;
  }
  signalingStats.frames += 1;
  (call.cross ? signalingStats.latency.remote : signalingStats.latency.local).record(ms);
  if (frame.type === 'offer' && side.name === 'guest') {
    sendRelay(call, 'guest', { type: 'answer', data: { sdp: sdp(call, 'guest') } });
    for (let k = 0; k < CANDIDATES; k += 1) sendRelay(call, 'guest', candidateFrame(k, 's'));
  } else if (frame.type === 'answer' && side.name === 'host') {
    for (let k = 0; k < CANDIDATES; k += 1) sendRelay(call, 'host', candidateFrame(k, 's'));
  } else if (frame.type === 'ice-candidate') {
    side.candidates += 1;
    call.wake?.();
  }
}

function onFrame(call: BenchCall, side: Side, frame: Frame): void {
  if (frame.type === 'call-state') {
    const status: unknown = frame.data?.status;
    const version = Number(frame.data?.version ?? 0);
    if (typeof status === 'string' && version >= side.version) {
      side.status = status;
      side.version = version;
    }
    if (typeof status === 'string' && isTerminal(status as CallStatus)) side.ended = true;
    call.wake?.();
  } else if (frame.type === 'offer' || frame.type === 'answer' || frame.type === 'ice-candidate') {
    onRelayed(call, side, frame);
  }
}

function onClose(call: BenchCall, side: Side, peer: BenchPeer, code: number): void {
  openSockets -= 1;
  if (side.peer !== peer) return;
  side.peer = undefined;
  side.joined = false;
  side.closeCode = code;
  side.lastSeq = Math.max(side.lastSeq, peer.lastSeq);
  if (code === 4504) side.ended = true;
  if (call.phase === 'active') {
    call.phase = 'broken';
    count(drops, closeReason(code));
  }
  call.wake?.();
}

/** Resolves true once `check` says true, with its reason once it returns one, or `timeoutReason` at the deadline. */
async function until(call: BenchCall, check: () => true | string | undefined, deadline: number, timeoutReason: string): Promise<true | string> {
  for (;;) {
    const outcome = check();
    if (outcome !== undefined) return outcome;
    const left = deadline - now();
    if (left <= 0) return timeoutReason;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        call.wake = undefined;
        resolve();
      }, left);
      call.wake = () => {
        clearTimeout(timer);
        call.wake = undefined;
        resolve();
      };
    });
  }
}

/** Opens (if needed) and joins one side; resolves with a failure reason, or undefined once joined. */
async function ensureJoined(call: BenchCall, side: Side): Promise<string | undefined> {
  if (side.peer && side.joined) return undefined;
  const addresses = init.localAddresses;
  let peer: BenchPeer;
  try {
    peer = await BenchPeer.open(`${side.url}/signal/ws?token=${side.token}`, {
      localAddress: addresses.length ? addresses[nextAddress++ % addresses.length] : undefined, timeoutMs: init.connectTimeoutMs,
    });
  } catch (err) {
    return reasonOf(err);
  }
  openSockets += 1;
  side.peer = peer;
  side.joined = false;
  side.closeCode = undefined;
  peer.onFrame = (frame) => onFrame(call, side, frame);
  peer.onClose = (code) => onClose(call, side, peer, code);
  try {
    const ack = await peer.request('join', side.lastSeq > 0 ? { last_seq: side.lastSeq } : {}, init.connectTimeoutMs);
    if (ack.type === 'error') {
      peer.terminate();
      return `join:${String(ack.data?.code)}`;
    }
    const state = ack.data?.call as { status?: string; version?: number } | undefined;
    if (state?.status && (state.version ?? 0) >= side.version) {
      side.status = state.status;
      side.version = state.version ?? 0;
    }
    side.joined = true;
    return undefined;
  } catch (err) {
    peer.terminate();
    return reasonOf(err);
  }
}

function activeCheck(call: BenchCall): true | string | undefined {
  for (const side of [call.host, call.guest]) if (!side.peer) return closeReason(side.closeCode);
  return call.host.status === 'active' && call.guest.status === 'active' ? true : undefined;
}

async function setupCall(call: BenchCall, stats: PhaseResults['setup'], setupMs: Histogram): Promise<void> {
  const started = now();
  const deadline = started + init.setupTimeoutMs;
  let budget = init.retries;
  call.phase = 'setup';
  for (;;) {
    const joined = await Promise.all([ensureJoined(call, call.host), ensureJoined(call, call.guest)]);
    const failed = joined.find((r) => r !== undefined);
    const outcome = failed ?? await until(call, () => activeCheck(call), deadline, 'setup_timeout');
    if (outcome === true) {
      call.phase = 'active';
      stats.active += 1;
      setupMs.record(now() - started);
      return;
    }
    if (budget > 0 && outcome !== 'setup_timeout' && now() < deadline) {
      budget -= 1;
      count(stats.retries, outcome);
      await sleep(100 + Math.random() * 400);
      continue;
    }
    count(stats.failures, outcome);
    call.phase = 'failed';
    call.host.peer?.terminate();
    call.guest.peer?.terminate();
    return;
  }
}

/** Runs `task` for each item, starting `rate` per second at most, with at most `maxInflight` running. */
async function paced<T>(items: T[], rate: number, task: (item: T) => Promise<void>): Promise<void> {
  const started = now();
  const running = new Set<Promise<void>>();
  for (let i = 0; i < items.length; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    while (running.size >= init.maxInflight) await Promise.race(running);
    const p: Promise<void> = task(items[i]!).finally(() => {
      running.delete(p);
      if (progress) progress.done += 1;
    });
    running.add(p);
  }
  await Promise.all(running);
}

function liveCalls(): BenchCall[] {
  return calls.filter((c) => c.phase === 'active');
}

async function prepare(): Promise<PhaseResults['prepare']> {
  const failures: Reasons = {};
  const ring = loadKeyRing(init.keysDir, { generateIfEmpty: false });
  const handle = await connectMongo(init.mongoUrl, init.database, 30000);
  const store = new MongoCallStore(handle.db);
  const nodes = init.nodeUrls.length;
  const slots: Array<BenchCall | undefined> = new Array(init.count);
  let next = 0;
  const made = { phase: 'prepare' as const, done: 0, total: init.count };
  progress = made;
  await Promise.all(Array.from({ length: Math.min(init.createConcurrency, init.count) }, async () => {
    while (next < init.count) {
      const k = next++;
      const index = init.firstIndex + k;
      const hostNode = index % nodes;
      const cross = nodes > 1 && Math.floor(index / nodes) % 2 === 1;
      const guestNode = cross ? (hostNode + 1) % nodes : hostNode;
      try {
        const at = new Date();
        const call = await store.create({
          id: newId(), link_id: newId(), short_code: newId().slice(-8), host_id: `bench_h_${newId()}`, guest_id: `bench_g_${newId()}`, guest_role: 'user',
          status: 'waiting', end_reason: null, rate: { amount: 100, currency: 'usd' }, max_duration_sec: null,
          created_at: at, ringing_at: null, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: at, version: 0,
        });
        const mint = async (peer: Peer) => (await signToken(ring, { role: peer === 'host' ? 'host' : 'user', call_id: call.id, peer }, {
          issuer: init.issuer, audience: 'signal', subject: peer === 'host' ? call.host_id : call.guest_id, ttlSec: init.tokenTtlSec,
        })).token;
        const side = (name: Peer, node: number, token: string): Side => ({
          name, url: init.nodeUrls[node]!, token, peer: undefined, joined: false, status: 'waiting', version: 0, lastSeq: 0, closeCode: undefined, ended: false, candidates: 0,
        });
        slots[k] = new BenchCall(call.id, cross, side('host', hostNode, await mint('host')), side('guest', guestNode, await mint('guest')));
      } catch (err) {
        count(failures, `create:${String((err as Error).message).slice(0, 60)}`);
      }
      made.done += 1;
    }
  }));
  await handle.close();
  calls = slots.filter((c): c is BenchCall => c !== undefined);
  return { created: calls.length, failures };
}

async function setup(upto: number, rate: number): Promise<PhaseResults['setup']> {
  const batch = calls.slice(setupCursor, Math.min(upto, calls.length));
  setupCursor += batch.length;
  const stats: PhaseResults['setup'] = { attempted: batch.length, active: 0, failures: {}, retries: {}, setupMs: { buckets: [], count: 0, min: 0, max: 0, sum: 0 } };
  const setupMs = new Histogram();
  progress = { phase: 'setup', done: 0, total: batch.length };
  await paced(batch, rate, (call) => setupCall(call, stats, setupMs));
  stats.setupMs = setupMs.toJSON();
  return stats;
}

async function signaling(rate: number, timeoutMs: number): Promise<PhaseResults['signaling']> {
  const live = liveCalls();
  signalingStats = { frames: 0, latency: paths() };
  const failures: Reasons = {};
  const negotiationMs = new Histogram();
  let completed = 0;
  progress = { phase: 'signaling', done: 0, total: live.length };
  await paced(live, rate, async (call) => {
    if (call.phase !== 'active') return count(failures, 'dropped_before');
    call.host.candidates = 0;
    call.guest.candidates = 0;
    const started = now();
    sendRelay(call, 'host', { type: 'offer', data: { sdp: sdp(call, 'host') } });
    const outcome = await until(call, () => {
      if (call.phase !== 'active') return 'dropped';
      return call.host.candidates >= CANDIDATES && call.guest.candidates >= CANDIDATES ? true : undefined;
    }, started + timeoutMs, 'negotiation_timeout');
    if (outcome === true) {
      completed += 1;
      negotiationMs.record(now() - started);
    } else {
      count(failures, outcome);
    }
  });
  return {
    calls: live.length, completed, failures, frames: signalingStats.frames,
    latency: { local: signalingStats.latency.local.toJSON(), remote: signalingStats.latency.remote.toJSON() }, negotiationMs: negotiationMs.toJSON(),
  };
}

/**
 * Sends `rate` frames/s for `durationMs`, waking every `tickMs` (or when the next frame is due,
 * if later) to send the frames due by then, each stamped as it is sent.
 */
async function relay(rate: number, durationMs: number, drainMs: number, tickMs: number): Promise<PhaseResults['relay']> {
  const live = liveCalls();
  relayStats = { received: 0, latency: paths() };
  let sent = 0;
  let unsent = 0;
  let attempted = 0;
  const total = Math.floor((rate * durationMs) / 1000);
  const sending = { phase: 'relay' as const, done: 0, total };
  progress = sending;
  const started = now();
  if (live.length > 0 && rate > 0) {
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const t = now();
        const due = Math.min(total, Math.floor(((t - started) * rate) / 1000));
        while (attempted < due) {
          const call = live[attempted % live.length]!;
          const from: Peer = Math.floor(attempted / live.length) % 2 === 0 ? 'host' : 'guest';
          if (call.phase === 'active' && sendRelay(call, from, candidateFrame(attempted, 'r'))) sent += 1;
          else unsent += 1;
          attempted += 1;
        }
        sending.done = attempted;
        if (attempted >= total) resolve();
        else setTimeout(tick, Math.max(tickMs, started + ((attempted + 1) * 1000) / rate - now()));
      };
      tick();
    });
  }
  const sendMs = now() - started;
  const drainUntil = now() + drainMs;
  while (relayStats.received < sent && now() < drainUntil) await sleep(20);
  return {
    calls: live.length, sent, unsent, received: relayStats.received, sendMs,
    latency: { local: relayStats.latency.local.toJSON(), remote: relayStats.latency.remote.toJSON() },
  };
}

async function pings(everyMs: number, durationMs: number, timeoutMs: number): Promise<PhaseResults['pings']> {
  const sides = liveCalls().flatMap((c) => [c.host, c.guest]);
  const stats: PhaseResults['pings'] = { sent: 0, ok: 0, failures: {}, rttMs: { buckets: [], count: 0, min: 0, max: 0, sum: 0 } };
  const rtt = new Histogram();
  const started = now();
  const end = started + durationMs;
  const pinged = { phase: 'pings' as const, done: 0, total: Math.round(sides.length * (durationMs / everyMs)) };
  progress = pinged;
  await Promise.all(sides.map(async (side) => {
    for (let at = started + Math.random() * everyMs; at < end; at += everyMs) {
      const wait = at - now();
      if (wait > 0) await sleep(wait);
      const peer = side.peer;
      if (!peer) return count(stats.failures, closeReason(side.closeCode));
      const sentAt = now();
      stats.sent += 1;
      try {
        const reply = await peer.request('ping', { ts: Date.now() }, timeoutMs);
        if (reply.type === 'pong') {
          stats.ok += 1;
          rtt.record(now() - sentAt);
        } else {
          count(stats.failures, `ping:${String(reply.data?.code)}`);
        }
      } catch (err) {
        count(stats.failures, reasonOf(err));
      }
      pinged.done += 1;
    }
  }));
  stats.rttMs = rtt.toJSON();
  return stats;
}

async function hangup(rate: number, timeoutMs: number): Promise<PhaseResults['hangup']> {
  const live = liveCalls();
  const failures: Reasons = {};
  const hangupMs = new Histogram();
  let completed = 0;
  progress = { phase: 'hangup', done: 0, total: live.length };
  await paced(live, rate, async (call) => {
    if (call.phase !== 'active') return count(failures, 'dropped_before');
    call.phase = 'hangup';
    const started = now();
    if (!sendRelay(call, 'guest', { type: 'hangup' })) return count(failures, closeReason(call.guest.closeCode));
    const outcome = await until(call, () => {
      if (call.host.ended && call.guest.ended) return true;
      for (const side of [call.host, call.guest]) if (!side.ended && !side.peer) return closeReason(side.closeCode);
      return undefined;
    }, started + timeoutMs, 'hangup_timeout');
    if (outcome === true) {
      call.phase = 'ended';
      completed += 1;
      hangupMs.record(now() - started);
    } else {
      count(failures, outcome);
    }
  });
  return { calls: live.length, completed, failures, hangupMs: hangupMs.toJSON() };
}

async function runPhase<P extends PhaseName>(phase: P, run: () => Promise<PhaseResults[P]>): Promise<void> {
  drops = {};
  loopDelay.reset();
  const started = now();
  const result = await run();
  const common: PhaseCommon = {
    open: openSockets, drops, wallMs: now() - started,
    loopDelayMs: { p99: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS), max: Math.max(0, loopDelay.max / 1e6 - LOOP_RESOLUTION_MS) },
  };
  progress = undefined;
  send({ kind: 'result', phase, common, result } as FromWorker);
}

function handle(message: ToWorker): Promise<void> {
  switch (message.kind) {
    case 'init':
      init = message.init;
      send({ kind: 'ready' });
      return Promise.resolve();
    case 'prepare':
      return runPhase('prepare', prepare);
    case 'setup':
      return runPhase('setup', () => setup(message.upto, message.rate));
    case 'signaling':
      return runPhase('signaling', () => signaling(message.rate, message.timeoutMs));
    case 'relay':
      return runPhase('relay', () => relay(message.rate, message.durationMs, message.drainMs, message.tickMs));
    case 'pings':
      return runPhase('pings', () => pings(message.everyMs, message.durationMs, message.timeoutMs));
    case 'hangup':
      return runPhase('hangup', () => hangup(message.rate, message.timeoutMs));
    case 'stop':
      for (const call of calls) {
        call.host.peer?.terminate();
        call.guest.peer?.terminate();
      }
      setTimeout(() => process.exit(0), 200);
      return Promise.resolve();
  }
}

setInterval(() => {
  if (progress) send({ kind: 'progress', ...progress, open: openSockets });
}, 2000).unref();

process.on('message', (message: ToWorker) => {
  handle(message).catch((err: unknown) => send({ kind: 'error', message: String((err as Error)?.stack ?? err) }));
});
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
