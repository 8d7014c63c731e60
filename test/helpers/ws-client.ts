import WebSocket from 'ws';

/** A frame as the server sent it (parsed JSON). */
export interface Frame {
  type: string;
  id?: string;
  seq?: number;
  data?: any;
}

/** Options of `SignalClient.connect`. */
export interface ConnectOptions {
  /** How the token travels: `?token=` (default) or `Sec-WebSocket-Protocol: vidivo.v1, bearer.<jwt>`. */
  via?: 'query' | 'protocol';
  /** Local source address (spread load-test clients over 127.0.0.x). */
  localAddress?: string;
  /** Path on the signal node; default `/signal/ws`. */
  path?: string;
  /** Record every frame (default true); a load tester may turn it off and use `onFrame`. */
  keep?: boolean;
}

/**
 * A minimal signaling client over `ws` for tests, benchmarks and load tools: connect with a
 * token, send frames, `request()` with an automatic id and await the one reply, wait for frames
 * by predicate, and track the highest `seq` seen (for `join` with `last_seq`).
 */
export class SignalClient {
  readonly frames: Frame[] = [];
  lastSeq = 0;
  /** The last socket error (for diagnostics). */
  lastError: Error | undefined;
  onFrame: ((frame: Frame, raw: string) => void) | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextId = 1;
  #waiters = new Set<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }>();
  #closeInfo: { code: number; reason: string } | undefined;

  #keep: boolean;

  private constructor(readonly ws: WebSocket, keep: boolean) {
    this.#keep = keep;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.#closeInfo = { code, reason: reason.toString() };
        resolve(this.#closeInfo);
      });
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const raw = data.toString();
      const frame = JSON.parse(raw) as Frame;
      if (typeof frame.seq === 'number' && frame.seq > this.lastSeq) this.lastSeq = frame.seq;
      if (this.#keep) this.frames.push(frame);
      this.onFrame?.(frame, raw);
      for (const w of [...this.#waiters]) {
        if (w.match(frame)) {
          this.#waiters.delete(w);
          w.resolve(frame);
        }
      }
    });
    ws.on('error', (err) => { this.lastError = err; });
  }

  /** Opens a socket; rejects with `{ status }` when the upgrade is refused (e.g. 401). */
  static connect(baseUrl: string, token: string, options: ConnectOptions = {}): Promise<SignalClient> {
    const path = options.path ?? '/signal/ws';
    const url = options.via === 'protocol' ? `${baseUrl}${path}` : `${baseUrl}${path}?token=${encodeURIComponent(token)}`;
    const protocols = options.via === 'protocol' ? ['vidivo.v1', `bearer.${token}`] : undefined;
    const ws = new WebSocket(url, protocols, { ...(options.localAddress ? { localAddress: options.localAddress } : {}), perMessageDeflate: false });
    const client = new SignalClient(ws, options.keep ?? true);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
        res.resume();
      });
      ws.once('error', (err) => reject(err));
    });
  }

  /** The HTTP status of a refused upgrade, or 101 when it opened (the socket is closed again). */
  static async upgradeStatus(baseUrl: string, token: string, options: ConnectOptions = {}): Promise<number> {
    try {
      const client = await SignalClient.connect(baseUrl, token, options);
      client.close();
      return 101;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === undefined) throw err;
      return status;
    }
  }

  /** Stops (or resumes) keeping frames in `frames`, which are dropped when stopping (long-running load clients). */
  keepFrames(on: boolean): void {
    this.#keep = on;
    if (!on) this.frames.length = 0;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get closeInfo(): { code: number; reason: string } | undefined {
    return this.#closeInfo;
  }

  /** Sends a frame object (or raw text / bytes as given). */
  send(frame: object | string | Buffer): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** Sends `{type, id, data}` with a fresh id and resolves with the reply carrying it (`ack`, `error`, or `pong` for `ping`). */
  async request(type: string, data?: unknown, timeoutMs = 10000): Promise<Frame> {
    const id = `r${this.#nextId++}`;
    const reply = this.next((f) => f.id === id, timeoutMs);
    this.send({ type, id, ...(data !== undefined ? { data } : {}) });
    return reply;
  }

  /** `join` (with `last_seq` after a reconnect); resolves with the reply. */
  join(lastSeq?: number): Promise<Frame> {
    return this.request('join', lastSeq === undefined ? {} : { last_seq: lastSeq });
  }

  /** Resolves with the next frame (arriving from now on) that matches. */
  next(match: (f: Frame) => boolean, timeoutMs = 10000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms; closed: ${JSON.stringify(this.#closeInfo)}; error: ${this.lastError?.message}; got: ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Resolves with the first frame received so far (or later) that matches. */
  waitFor(match: (f: Frame) => boolean, timeoutMs = 10000): Promise<Frame> {
    const seen = this.frames.find(match);
    return seen ? Promise.resolve(seen) : this.next(match, timeoutMs);
  }

  /** Resolves with the first frame of `type` received so far (or later). */
  waitType(type: string, timeoutMs = 10000, extra: (f: Frame) => boolean = () => true): Promise<Frame> {
    return this.waitFor((f) => f.type === type && extra(f), timeoutMs);
  }

  /** Resolves with the close code and reason (rejects after `timeoutMs`). */
  waitClose(timeoutMs = 10000): Promise<{ code: number; reason: string }> {
    return Promise.race([
      this.closed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }

  close(code = 1000): void {
    try {
      this.ws.close(code);
    } catch {
      this.ws.terminate();
    }
  }

  /** Drops the TCP connection without a close frame (a network failure as the server sees it). */
  kill(): void {
    this.ws.terminate();
  }
}
