import WebSocket from 'ws';
import { SIGNAL_SUBPROTOCOL, type ClientMessage, type JoinResult, type ServerMessage } from '../../shared/protocol/index.js';

/** Why a request failed: an `error` frame's code, a close, or no reply in time. */
export class PeerError extends Error {
  constructor(readonly code: string, message?: string) {
    super(message ?? code);
  }
}

export interface PeerHooks {
  /** Every frame received (after `seq` bookkeeping). */
  onFrame(peer: SignalPeer, frame: ServerMessage, replayed: boolean): void;
  /** The socket closed; `expected` when this side closed it. */
  onClose(peer: SignalPeer, code: number, expected: boolean): void;
  onOpen(peer: SignalPeer): void;
  onSend(): void;
}

/**
 * One signaling socket of a simulated participant: connects with a token, sends typed frames,
 * matches replies by request id, and tracks the highest `seq` received for resume.
 */
export class SignalPeer {
  private ws: WebSocket | undefined;
  private nextId = 0;
  private readonly pending = new Map<string, { resolve: (data: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  private closing = false;
  private readonly joinIds = new Set<string>();
  lastSeq = 0;
  /** Sequenced frames still to come from the replay after a resume (not measured as relay latency). */
  replayLeft = 0;
  connected = false;

  constructor(readonly role: 'host' | 'guest', private readonly hooks: PeerHooks, private readonly localAddress?: string) {}

  /** Opens the socket with the token as `Sec-WebSocket-Protocol: vidivo.v1, bearer.<token>`; rejects with `ws_connect` (or the HTTP status). */
  connect(url: string, token: string, timeoutMs: number): Promise<void> {
    this.closing = false;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, [SIGNAL_SUBPROTOCOL, `bearer.${token}`], {
        handshakeTimeout: timeoutMs,
        perMessageDeflate: false,
        ...(this.localAddress ? { localAddress: this.localAddress } : {}),
      });
      this.ws = ws;
      let opened = false;
      ws.on('unexpected-response', (_req, res) => {
        reject(new PeerError(`ws_upgrade_${res.statusCode ?? 0}`));
        res.resume();
        ws.terminate();
      });
      ws.on('open', () => {
        opened = true;
        this.connected = true;
        this.hooks.onOpen(this);
        resolve();
      });
      ws.on('error', (err) => {
        if (!opened) reject(new PeerError('ws_connect', err.message));
      });
      ws.on('message', (raw, isBinary) => {
        if (isBinary) return;
        let frame: ServerMessage;
        try {
          frame = JSON.parse(raw.toString()) as ServerMessage;
        } catch {
          return;
        }
        this.receive(frame);
      });
      ws.on('close', (code) => {
        const wasOpen = opened;
        this.connected = false;
        if (this.ws === ws) this.ws = undefined;
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new PeerError(`closed_${code}`));
          this.pending.delete(id);
        }
        if (wasOpen) this.hooks.onClose(this, code, this.closing);
        else reject(new PeerError('ws_connect', `closed ${code} before open`));
      });
    });
  }

  private receive(frame: ServerMessage): void {
    let replayed = false;
    if ('seq' in frame && typeof frame.seq === 'number') {
      if (frame.seq <= this.lastSeq) return;
      this.lastSeq = frame.seq;
      if (this.replayLeft > 0) {
        this.replayLeft -= 1;
        replayed = true;
      }
    }
    if ((frame.type === 'ack' || frame.type === 'error' || frame.type === 'pong') && frame.id) {
      const p = this.pending.get(frame.id);
      if (frame.type === 'ack' && this.joinIds.delete(frame.id)) this.replayLeft = (frame.data as Partial<JoinResult> | undefined)?.replayed ?? 0;
      if (p) {
        this.pending.delete(frame.id);
        clearTimeout(p.timer);
        if (frame.type === 'error') p.reject(new PeerError(`signal_${frame.data.code}`, frame.data.message));
        else p.resolve(frame.data);
      }
    }
    this.hooks.onFrame(this, frame, replayed);
  }

  /** Sends a frame without waiting for a reply; false when the socket is not open. */
  send(message: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    this.hooks.onSend();
    return true;
  }

  /** Sends a frame with a fresh request id and resolves with the reply's data. */
  request<T>(message: ClientMessage, timeoutMs: number): Promise<T> {
    const id = `r${++this.nextId}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PeerError(`${message.type}_timeout`));
      }, timeoutMs);
      if (message.type === 'join') this.joinIds.add(id);
      this.pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
      if (!this.send({ ...message, id } as ClientMessage)) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new PeerError('not_connected'));
      }
    });
  }

  /** `join` (with `last_seq` when resuming); resolves with the join result. */
  async join(resume: boolean, timeoutMs: number): Promise<JoinResult> {
    this.joinIds.clear();
    return this.request<JoinResult>({ type: 'join', data: resume ? { last_seq: this.lastSeq } : {} }, timeoutMs);
  }

  /** Drops the socket abruptly (no close handshake), as a lost network would. */
  drop(): void {
    this.closing = true;
    this.ws?.terminate();
  }

  /** Closes normally (1000). Safe to call twice. */
  close(): void {
    this.closing = true;
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else ws.terminate();
  }
}
