import type { ServerMessage } from '../../shared/protocol/index.js';
import { shouldReconnect, closeCodeName } from '../../shared/protocol/index.js';
import { ApiError, type ApiClient, type SignalingGrant } from './api-client.js';
import { PeerError, SignalPeer } from './peer.js';
import type { Random } from './prng.js';
import type { StatsRecorder } from './stats.js';
import type { LoadtestOptions } from './options.js';

/** What the parent hands a worker for one call. */
export interface CallAssignment {
  index: number;
  shortCode: string;
  /** The host's access token when the call starts; renewals arrive through `setHostToken`. */
  hostToken: string;
  /** Signaling URLs to use instead of the one the API returns: guest on [0], host on [1 % n]. */
  signal: string[];
}

/** The per-call knobs (all times in ms): the run's options a worker needs, plus the REST timeout. */
export type CallPlan = Pick<LoadtestOptions,
  'durationMs' | 'pingIntervalMs' | 'muteIntervalMs' | 'candidates' | 'churn' | 'churnDelayMs' | 'setupTimeoutMs'>
  & { requestTimeoutMs: number };

export interface DriverContext {
  api: ApiClient;
  stats: StatsRecorder;
  plan: CallPlan;
  random: Random;
  /** Next source address for a socket (undefined: the system picks). */
  localAddress(): string | undefined;
}

type Role = 'host' | 'guest';
const OTHER: Record<Role, Role> = { host: 'guest', guest: 'host' };
const MUTE_STATES = [[true, true], [false, true], [false, false], [true, false]] as const;
/** Relayed frames awaiting their arrival per peer; older ones are taken as lost (keeps a call's memory flat whatever the server drops). */
const MAX_UNMATCHED = 32;

function errorLabel(err: unknown): string {
  if (err instanceof ApiError) return err.label;
  if (err instanceof PeerError) return err.code;
  return 'internal';
}

function fakeSdp(kind: string, index: number, n: number): string {
  const lines = [
    'v=0', `o=- ${index}${n} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=msid-semantic: WMS lt',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', `a=ice-ufrag:lt${index}`, 'a=ice-pwd:loadtestloadtestloadtest00',
    'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
    `a=setup:${kind === 'offer' ? 'actpass' : 'active'}`, 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2',
    'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:96 VP8/90000',
    `a=x-loadtest:${kind}:${index}:${n}`,
  ];
  return lines.join('\r\n') + '\r\n';
}

/**
 * Drives one call through the real API and signaling tier: guest session → join → host-join →
 * both sockets `join` → offer/answer → trickled candidates → `media-state` `connected` (as a real
 * client reports its connection; it starts the billing clock) → pings and mute-state changes
 * (optionally a socket drops and resumes) → guest `hangup`. Records setup time (join request →
 * both peers saw `active`) and relay latency (a relayed frame's send → its arrival at the other
 * peer, matched by content, replayed frames excluded). Resolves when the call is over; never rejects.
 */
export class CallDriver {
  private readonly peers: Record<Role, SignalPeer>;
  private readonly sent: Record<Role, Array<{ key: string; at: number }>> = { host: [], guest: [] };
  private readonly status: Record<Role, string> = { host: '', guest: '' };
  private readonly tokens: Record<Role, string> = { host: '', guest: '' };
  private readonly urls: Record<Role, string> = { host: '', guest: '' };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly intervals = new Set<NodeJS.Timeout>();
  private callId = '';
  private failed: string | undefined;
  private finished = false;
  private counter = 0;
  private muteStep: Record<Role, number> = { host: 0, guest: 0 };
  private ended = false;
  private waiters: Array<() => void> = [];
  private resuming: Record<Role, boolean> = { host: false, guest: false };
  private abort!: (label: string) => void;
  private readonly aborted: Promise<never>;

  constructor(private readonly call: CallAssignment, private readonly ctx: DriverContext) {
    const hooks = {
      onFrame: (peer: SignalPeer, frame: ServerMessage, replayed: boolean) => this.onFrame(peer.role, frame, replayed),
      onClose: (peer: SignalPeer, code: number, expected: boolean) => this.onClose(peer.role, code, expected),
      onOpen: () => { ctx.stats.sockets += 1; },
      onSend: () => ctx.stats.add('framesSent'),
    };
    this.peers = { host: new SignalPeer('host', hooks, ctx.localAddress()), guest: new SignalPeer('guest', hooks, ctx.localAddress()) };
    this.aborted = new Promise<never>((_, reject) => { this.abort = (label) => reject(new PeerError(label)); });
    this.aborted.catch(() => undefined);
    this.tokens.host = call.hostToken;
  }

  /** The host's renewed access token, used from now on for host-join, resumes and re-authentication; false once the call is over. */
  setHostToken(token: string): boolean {
    if (this.finished) return false;
    this.tokens.host = token;
    return true;
  }

  async run(): Promise<void> {
    const { api, stats, plan } = this.ctx;
    stats.add('attempted');
    let active = false;
    try {
      const guestToken = await api.guestSession(`Load guest ${this.call.index}`);
      this.tokens.guest = guestToken;
      const started = performance.now();
      const guestGrant = await api.join(guestToken, this.call.shortCode);
      this.callId = guestGrant.callId;
      const hostGrant = await api.hostJoin(this.tokens.host, guestGrant.callId);
      this.urls.guest = this.call.signal[0] ?? guestGrant.url;
      this.urls.host = this.call.signal.length > 0 ? this.call.signal[1 % this.call.signal.length]! : hostGrant.url;
      const setupDeadline = this.timeout(plan.setupTimeoutMs, 'setup_timeout');
      await this.race(Promise.all([this.connectAndJoin('guest', guestGrant), this.connectAndJoin('host', hostGrant)]));
      await this.race(Promise.race([this.until(() => this.status.host === 'active' && this.status.guest === 'active'), setupDeadline]));
      this.clear(setupDeadline);
      active = true;
      stats.setup.record(performance.now() - started);
      stats.add('setups');
      stats.activeCalls += 1;
      await this.race(this.negotiate());
      this.startTraffic();
      await this.race(this.sleep(plan.durationMs));
      await this.race(this.hangup());
      stats.add('succeeded');
    } catch (err) {
      this.fail(errorLabel(err));
    } finally {
      this.finished = true;
      if (active) stats.activeCalls -= 1;
      this.stopTraffic();
      this.peers.host.close();
      this.peers.guest.close();
      this.sent.host = [];
      this.sent.guest = [];
      this.waiters = [];
      if (this.failed && this.callId && !this.ended && this.tokens.guest) await api.end(this.tokens.guest, this.callId).catch(() => undefined);
    }
  }

  private fail(label: string): void {
    if (this.failed || this.finished) return;
    this.failed = label;
    this.ctx.stats.fail(label);
    this.abort(label);
  }

  private race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.aborted]);
  }

  private timeout(ms: number, label: string): Promise<never> & { timer?: NodeJS.Timeout } {
    let timer: NodeJS.Timeout | undefined;
    const p = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PeerError(label)), ms);
      this.timers.add(timer);
    }) as Promise<never> & { timer?: NodeJS.Timeout };
    p.timer = timer;
    p.catch(() => undefined);
    return p;
  }

  private clear(p: { timer?: NodeJS.Timeout }): void {
    if (p.timer) {
      clearTimeout(p.timer);
      this.timers.delete(p.timer);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.timers.delete(timer); resolve(); }, ms);
      this.timers.add(timer);
    });
  }

  private until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (predicate()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async connectAndJoin(role: Role, grant: SignalingGrant, resume = false): Promise<void> {
    const { plan } = this.ctx;
    const peer = this.peers[role];
    await peer.connect(this.urls[role], grant.token, plan.requestTimeoutMs);
    const result = await peer.join(resume, plan.requestTimeoutMs);
    if (result?.call?.status) this.setStatus(role, result.call.status);
  }

  private setStatus(role: Role, status: string): void {
    this.status[role] = status;
    if (status === 'ended' || status === 'missed' || status === 'failed' || status === 'declined') {
      this.ended = true;
      if (!this.hangingUp) this.fail(`call_${status}`);
    }
    this.wake();
  }

  private relay(from: Role, message: Parameters<SignalPeer['send']>[0], key: string): void {
    if (!this.peers[from].send(message) || !this.peers[OTHER[from]].connected) return;
    const queue = this.sent[from];
    if (queue.length >= MAX_UNMATCHED) queue.shift();
    queue.push({ key, at: performance.now() });
  }

  private async negotiate(): Promise<void> {
    const n = ++this.counter;
    this.relay('guest', { type: 'offer', data: { sdp: fakeSdp('offer', this.call.index, n) } }, `offer:${n}`);
    await this.until(() => this.gotAnswer);
    for (const role of ['guest', 'host'] as const) {
      for (let i = 0; i < this.ctx.plan.candidates; i++) {
        const c = `candidate:${++this.counter} 1 udp 2122260223 10.${this.call.index % 250}.${i}.${role === 'host' ? 1 : 2} ${40000 + i} typ host`;
        this.relay(role, { type: 'ice-candidate', data: { candidate: { candidate: c, sdpMid: '0', sdpMLineIndex: 0 } } }, `cand:${c}`);
      }
      this.relay(role, { type: 'ice-candidate', data: { candidate: null } }, `cand:eoc`);
    }
    for (const role of ['guest', 'host'] as const) this.peers[role].send({ type: 'media-state', data: { state: 'connected' } });
  }

  private gotAnswer = false;

  private onFrame(role: Role, frame: ServerMessage, replayed: boolean): void {
    const { stats } = this.ctx;
    stats.add('framesReceived');
    switch (frame.type) {
      case 'call-state':
        this.setStatus(role, frame.data.status);
        return;
      case 'offer':
        if (role === 'host' && !replayed) this.relay('host', { type: 'answer', data: { sdp: fakeSdp('answer', this.call.index, ++this.counter) } }, `answer:${this.counter}`);
        this.measure(role, `offer:${/a=x-loadtest:offer:\d+:(\d+)/.exec(frame.data.sdp)?.[1] ?? ''}`, replayed);
        return;
      case 'answer':
        this.gotAnswer = true;
        this.measure(role, `answer:${/a=x-loadtest:answer:\d+:(\d+)/.exec(frame.data.sdp)?.[1] ?? ''}`, replayed);
        this.wake();
        return;
      case 'ice-candidate':
        this.measure(role, frame.data.candidate ? `cand:${frame.data.candidate.candidate}` : 'cand:eoc', replayed);
        return;
      case 'mute-state':
        this.measure(role, `mute:${frame.data.audio}:${frame.data.video}`, replayed);
        return;
      case 'error':
        if (!frame.id) stats.error(`signal_${frame.data.code}`);
        return;
      case 'reauth-required':
        void this.reauth(role);
        return;
      case 'reconnect':
        void this.resume(role, true);
        return;
      default:
        return;
    }
  }

  /** Matches a relayed frame to what the other peer sent (first entry with the same key; older unmatched entries were lost). */
  private measure(receiver: Role, key: string, replayed: boolean): void {
    const queue = this.sent[OTHER[receiver]];
    const at = queue.findIndex((e) => e.key === key);
    if (at < 0) return;
    const entry = queue[at]!;
    queue.splice(0, at + 1);
    if (!replayed) this.ctx.stats.relay.record(performance.now() - entry.at);
  }

  private startTraffic(): void {
    const { plan, random } = this.ctx;
    for (const role of ['guest', 'host'] as const) {
      const pingOffset = random.int(0, plan.pingIntervalMs);
      const muteOffset = random.int(0, plan.muteIntervalMs);
      this.after(pingOffset, () => this.every(plan.pingIntervalMs, () => {
        this.peers[role].send({ type: 'ping', data: { ts: Date.now() } });
      }));
      this.after(muteOffset, () => this.every(plan.muteIntervalMs, () => {
        if (!this.peers[OTHER[role]].connected) return;
        const [audio, video] = MUTE_STATES[++this.muteStep[role] % MUTE_STATES.length]!;
        this.relay(role, { type: 'mute-state', data: { audio, video } }, `mute:${audio}:${video}`);
      }));
      if (plan.churn > 0 && random.chance(plan.churn)) {
        this.after(random.int(Math.floor(plan.durationMs * 0.2), Math.floor(plan.durationMs * 0.6)), () => this.churn(role));
      }
    }
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => { this.timers.delete(timer); if (!this.finished) fn(); }, ms);
    this.timers.add(timer);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(() => { if (!this.finished) fn(); }, ms);
    this.intervals.add(timer);
  }

  private stopTraffic(): void {
    for (const t of this.timers) clearTimeout(t);
    for (const t of this.intervals) clearInterval(t);
    this.timers.clear();
    this.intervals.clear();
  }

  private churn(role: Role): void {
    if (this.finished || this.resuming[role]) return;
    this.resuming[role] = true;
    this.sent[role] = [];
    this.sent[OTHER[role]] = [];
    this.peers[role].drop();
    this.after(this.ctx.plan.churnDelayMs, () => void this.resume(role, false));
  }

  /** Reconnects `role` with a fresh token and its last seq; a failed resume fails the call. */
  private async resume(role: Role, dropFirst: boolean): Promise<void> {
    if (this.finished) return;
    const { api, stats } = this.ctx;
    if (dropFirst) {
      this.resuming[role] = true;
      this.sent[role] = [];
      this.sent[OTHER[role]] = [];
      this.peers[role].drop();
    }
    stats.add('resumesAttempted');
    try {
      const grant = await api.reissue(this.tokens[role], this.callId);
      if (this.finished) return;
      await this.connectAndJoin(role, grant, true);
      stats.add('resumesSucceeded');
    } catch (err) {
      this.fail(`resume:${errorLabel(err)}`);
    } finally {
      this.resuming[role] = false;
      this.wake();
    }
  }

  private async reauth(role: Role): Promise<void> {
    try {
      const grant = await this.ctx.api.reissue(this.tokens[role], this.callId);
      await this.peers[role].request({ type: 'reauth', data: { token: grant.token } }, this.ctx.plan.requestTimeoutMs);
    } catch (err) {
      this.ctx.stats.error(`reauth:${errorLabel(err)}`);
    }
  }

  private onClose(role: Role, code: number, expected: boolean): void {
    this.ctx.stats.sockets -= 1;
    if (expected || this.finished || this.resuming[role]) return;
    if (this.ended) return;
    if (shouldReconnect(code)) {
      void this.resume(role, false);
      return;
    }
    this.fail(`close:${closeCodeName(code)}`);
  }

  private hangingUp = false;

  private async hangup(): Promise<void> {
    await this.until(() => !this.resuming.guest && !this.resuming.host);
    this.hangingUp = true;
    await this.peers.guest.request({ type: 'hangup', data: {} }, this.ctx.plan.requestTimeoutMs);
    const deadline = this.timeout(this.ctx.plan.requestTimeoutMs, 'hangup_timeout');
    await Promise.race([this.until(() => this.status.guest === 'ended' && this.status.host === 'ended'), deadline]);
    this.clear(deadline);
  }
}
