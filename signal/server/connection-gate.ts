/** A connection that has not sent its first request: the gate may close it while it waits. */
export interface GateConnection {
  close(): void;
}

/** Why the gate closed a connection before its first request. */
export type ConnectionShed = 'over_limit' | 'handshake_timeout';

export interface ConnectionGateOptions {
  /** Connections that have not upgraded (silent or with a request in flight) the node holds at most. */
  maxPending: number;
  /** A connection must send its first request head within this long, or is closed. */
  handshakeTimeoutMs: number;
  now?: () => number;
  /** Told about every connection the gate closes (for metrics). */
  onShed?: (reason: ConnectionShed) => void;
}

/** The key `accepted` hands out: tell the gate about that connection's first request or close with it. */
export type GateKey = number;

interface Silent {
  conn: GateConnection;
  deadline: number;
  address: string;
}

/**
 * Bounds the connections that have not upgraded to a WebSocket: at most `maxPending` at once,
 * and none silent for longer than `handshakeTimeoutMs`. A connection over the limit makes room
 * by closing the oldest silent connection (an honest client sends its request at once, so the
 * oldest silent ones are the idle ones); when none is silent, the new one is closed instead.
 *
 * The gate may use a connection's handle only while it knows the connection is silent: the
 * caller tells it `requested` or `closedSilently` as soon as either happens, and `upgrading`
 * before a connection from that address upgrades, and after that the handle is never touched
 * (uWS reuses the memory behind it). An upgrade does not say which connection it is on, only
 * its address: when that address has one silent connection, that is the one; when it has more,
 * the gate lets go of all of them (they are left to uWS's own idle timeout). Connections with a
 * request in flight still count until `closed` or `upgraded`.
 */
export class ConnectionGate {
  /** Silent connections, oldest first: their deadlines come due in this order. */
  readonly #silent = new Map<GateKey, Silent>();
  /** The keys of `#silent` by remote address. */
  readonly #byAddress = new Map<string, Set<GateKey>>();
  #released = 0;
  #pending = 0;
  #nextKey: GateKey = 1;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #now: () => number;

  constructor(private readonly options: ConnectionGateOptions) {
    if (!(options.maxPending >= 1)) throw new TypeError('maxPending must be at least 1');
    if (!(options.handshakeTimeoutMs > 0)) throw new TypeError('handshakeTimeoutMs must be positive');
    this.#now = options.now ?? Date.now;
  }

  /** Connections accepted that have neither upgraded nor closed. */
  get pending(): number {
    return this.#pending;
  }

  /** Of those, the ones that have not sent a request yet and that the gate watches. */
  get silent(): number {
    return this.#silent.size;
  }

  /** Silent connections let go of so far because an upgrade from their address could not be told apart. */
  get released(): number {
    return this.#released;
  }

  /**
   * A connection was accepted. Returns its key, or undefined when the gate closed it at once
   * (over the limit with no silent connection to close instead): then its handle is done with.
   */
  accepted(conn: GateConnection, address: string): GateKey | undefined {
    this.#pending += 1;
    if (this.#pending > this.options.maxPending) {
      const oldest = this.#silent.keys().next();
      if (oldest.done) {
        this.#shed(conn, 'over_limit');
        return undefined;
      }
      this.#closeSilent(oldest.value, 'over_limit');
    }
    const key = this.#nextKey;
    this.#nextKey += 1;
    this.#silent.set(key, { conn, deadline: this.#now() + this.options.handshakeTimeoutMs, address });
    const sameAddress = this.#byAddress.get(address);
    if (sameAddress) sameAddress.add(key);
    else this.#byAddress.set(address, new Set([key]));
    if (!this.#timer && !this.#stopped) this.#arm(this.options.handshakeTimeoutMs);
    return key;
  }

  /** The connection's first request head arrived: it is no longer silent, and its handle is never used again. */
  requested(key: GateKey): void {
    this.#forget(key);
  }

  /** The connection closed before its first request. */
  closedSilently(key: GateKey): void {
    this.#forget(key);
  }

  /**
   * A connection from `address` is about to upgrade (its first request, so it was silent until
   * now). Call before the upgrade: afterwards the memory behind its handle is the WebSocket's.
   */
  upgrading(address: string): void {
    const keys = this.#byAddress.get(address);
    if (!keys) return;
    if (keys.size > 1) this.#released += keys.size - 1;
    for (const key of [...keys]) this.#forget(key);
  }

  /** A connection that had not upgraded closed (silent or not; `closedSilently` as well when silent). */
  closed(): void {
    this.#pending -= 1;
  }

  /** A connection upgraded to a WebSocket: it leaves HTTP without a close. */
  upgraded(): void {
    this.#pending -= 1;
  }

  /** Closes every silent connection past its deadline; the milliseconds until the next one is due (undefined: none waits). */
  expire(): number | undefined {
    const now = this.#now();
    for (const [key, entry] of this.#silent) {
      if (entry.deadline > now) return entry.deadline - now;
      this.#closeSilent(key, 'handshake_timeout');
    }
    return undefined;
  }

  /** Stops the deadline timer for good (connections stay as they are). Its timers never keep the process alive. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopped = true;
  }

  #arm(inMs: number): void {
    this.#timer = setTimeout(() => {
      // Expired after this turn's I/O: a request that arrived while the loop was busy is read
      // (and its connection let go of) before the deadline is judged.
      setImmediate(() => {
        this.#timer = undefined;
        if (this.#stopped) return;
        const next = this.expire();
        if (next !== undefined && !this.#timer) this.#arm(next);
      }).unref();
    }, inMs);
    this.#timer.unref();
  }

  #forget(key: GateKey): Silent | undefined {
    const entry = this.#silent.get(key);
    if (!entry) return undefined;
    this.#silent.delete(key);
    const sameAddress = this.#byAddress.get(entry.address)!;
    sameAddress.delete(key);
    if (sameAddress.size === 0) this.#byAddress.delete(entry.address);
    return entry;
  }

  #closeSilent(key: GateKey, reason: ConnectionShed): void {
    // Off the lists first: closing calls back into `closedSilently` and `closed`.
    const entry = this.#forget(key);
    if (entry) this.#shed(entry.conn, reason);
  }

  #shed(conn: GateConnection, reason: ConnectionShed): void {
    this.options.onShed?.(reason);
    conn.close();
  }
}
