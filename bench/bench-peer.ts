import WebSocket from 'ws';
import { closeCodeName } from '../shared/protocol/index.js';

/** A server frame as parsed JSON. */
export interface Frame {
  type: string;
  id?: string;
  seq?: number;
  data?: any;
}

/** A failure with a short, countable reason (`connect:ECONNRESET`, `upgrade:503`, `join:timeout`, `close:1006`…). */
export class PeerError extends Error {
  constructor(readonly reason: string, message = reason) {
    super(message);
  }
}

/** `close:<code>/<NAME>`, e.g. `close:1006/ABNORMAL`, `close:4504/CALL_ENDED`. */
export function closeReason(code: number | undefined): string {
  return code === undefined ? 'close:unknown' : `close:${code}/${closeCodeName(code)}`;
}

function connectReason(err: Error & { code?: string }): string {
  const status = /Unexpected server response: (\d+)/.exec(err.message);
  if (status) return `upgrade:${status[1]}`;
  if (/handshake has timed out/i.test(err.message)) return 'connect:timeout';
  return `connect:${err.code ?? 'error'}`;
}

/**
 * A lean signaling socket for the benchmark workers (thousands per process): no frame log, one
 * reply map keyed by request id, a frame callback and a close callback. `open()` is bounded by
 * the WebSocket handshake timeout and may bind a local source address (127.0.0.x).
 */
export class BenchPeer {
  lastSeq = 0;
  closeCode: number | undefined;
  onFrame: ((frame: Frame) => void) | undefined;
  onClose: ((code: number) => void) | undefined;
  readonly #pending = new Map<string, { resolve: (frame: Frame) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      if (typeof frame.seq === 'number' && frame.seq > this.lastSeq) this.lastSeq = frame.seq;
      if (frame.id !== undefined) {
        const waiter = this.#pending.get(frame.id);
        if (waiter) {
          this.#pending.delete(frame.id);
          clearTimeout(waiter.timer);
          waiter.resolve(frame);
        }
      }
      this.onFrame?.(frame);
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      for (const waiter of this.#pending.values()) {
        clearTimeout(waiter.timer);
        waiter.reject(new PeerError(closeReason(code)));
      }
      this.#pending.clear();
      this.onClose?.(code);
    });
    ws.on('error', () => undefined);
  }

  static open(url: string, options: { localAddress?: string | undefined; timeoutMs: number }): Promise<BenchPeer> {
    const ws = new WebSocket(url, {
      perMessageDeflate: false, handshakeTimeout: options.timeoutMs,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const peer = new BenchPeer(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(peer));
      ws.once('error', (err) => reject(new PeerError(connectReason(err), err.message)));
      ws.once('close', (code) => reject(new PeerError(closeReason(code))));
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a frame; false when the socket is no longer open. */
  send(frame: object): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Sends `{type, id, data}` and resolves with the reply carrying that id; rejects with `<type>:timeout` or `close:<code>`. */
  request(type: string, data: unknown, timeoutMs: number): Promise<Frame> {
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new PeerError(closeReason(this.closeCode)));
    const id = `r${this.#nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new PeerError(`${type}:timeout`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ type, id, data }));
    });
  }

  terminate(): void {
    this.ws.terminate();
  }
}
