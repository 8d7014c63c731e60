import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionGate, type ConnectionShed, type GateConnection, type GateKey } from '../../../signal/server/connection-gate.js';

/**
 * A fake uWS: closing a connection calls back into the gate as uWS does (synchronously, the
 * filter's -1 and then `onAborted` while the connection is still silent).
 */
class FakeServer {
  now = 0;
  readonly shed: ConnectionShed[] = [];
  readonly gate: ConnectionGate;
  private readonly keys = new Map<FakeConnection, GateKey>();

  constructor(maxPending: number, handshakeTimeoutMs = 1000) {
    this.gate = new ConnectionGate({ maxPending, handshakeTimeoutMs, now: () => this.now, onShed: (r) => this.shed.push(r) });
  }

  connect(address = '10.0.0.1'): FakeConnection {
    const conn = new FakeConnection(this, address);
    const key = this.gate.accepted(conn, address);
    if (key !== undefined) this.keys.set(conn, key);
    return conn;
  }

  request(conn: FakeConnection): void {
    conn.silent = false;
    this.gate.requested(this.keys.get(conn)!);
  }

  /** As the upgrade handler does: no `onData` for this connection, only its address. */
  upgrade(conn: FakeConnection): void {
    this.gate.upgrading(conn.address);
    conn.silent = false;
    conn.upgraded = true;
    this.gate.upgraded();
  }

  closedByUws(conn: FakeConnection): void {
    if (conn.closed || conn.upgraded) return;
    conn.closed = true;
    this.gate.closed();
    if (conn.silent && this.keys.has(conn)) this.gate.closedSilently(this.keys.get(conn)!);
  }
}

class FakeConnection implements GateConnection {
  silent = true;
  closed = false;
  upgraded = false;
  constructor(private readonly server: FakeServer, readonly address: string) {}

  close(): void {
    if (!this.silent) throw new Error('the gate used a handle after its first request');
    this.server.closedByUws(this);
  }
}

let servers: FakeServer[] = [];
function server(maxPending: number, handshakeTimeoutMs?: number): FakeServer {
  const s = new FakeServer(maxPending, handshakeTimeoutMs);
  servers.push(s);
  return s;
}
afterEach(() => {
  for (const s of servers) s.gate.stop();
  servers = [];
});

describe('ConnectionGate', () => {
  it('holds up to maxPending connections; one more closes the oldest silent one at once', () => {
    const s = server(3);
    const [a, b, c] = [s.connect(), s.connect(), s.connect()];
    expect(s.gate.pending).toBe(3);
    const d = s.connect();
    expect(a.closed).toBe(true);
    expect([b.closed, c.closed, d.closed]).toEqual([false, false, false]);
    expect(s.gate.pending).toBe(3);
    expect(s.shed).toEqual(['over_limit']);
  });

  it('never closes a connection whose request has arrived; when none is silent, the new one is closed', () => {
    const s = server(2);
    const [a, b] = [s.connect(), s.connect()];
    s.request(a);
    s.request(b);
    const c = s.connect();
    expect(c.closed).toBe(true);
    expect([a.closed, b.closed]).toEqual([false, false]);
    expect(s.gate.pending).toBe(2);
    s.closedByUws(a);
    const d = s.connect();
    expect(d.closed).toBe(false);
  });

  it('an upgrade frees its place without a close', () => {
    const s = server(1);
    s.upgrade(s.connect());
    expect(s.gate.pending).toBe(0);
    expect(s.connect().closed).toBe(false);
  });

  it('an upgrade from an address with one silent connection lets go of just that one', () => {
    const s = server(10, 1000);
    const attacker = s.connect('10.0.0.66');
    const honest = s.connect('10.0.0.1');
    s.upgrade(honest);
    expect(s.gate.silent).toBe(1);
    expect(s.gate.released).toBe(0);
    s.now = 1000;
    s.gate.expire();
    expect(attacker.closed).toBe(true);
    expect(honest.closed).toBe(false);
  });

  it('an upgrade from an address with several silent connections lets go of all of them, never closing the upgraded one', () => {
    const s = server(3, 1000);
    const idle = s.connect('10.0.0.1');
    const honest = s.connect('10.0.0.1');
    const other = s.connect('10.0.0.2');
    s.upgrade(honest);
    expect(s.gate.silent).toBe(1);
    expect(s.gate.released).toBe(1);
    expect(s.gate.pending).toBe(2);
    // Over the limit, only a watched silent connection can make room: the oldest is `other`.
    s.connect('10.0.0.3');
    expect(other.closed).toBe(false);
    s.connect('10.0.0.3');
    expect(other.closed).toBe(true);
    expect(idle.closed).toBe(false);
    s.now = 5000;
    s.gate.expire();
    expect(idle.closed).toBe(false);
    // uWS's own idle timeout closes the one let go of; the gate only counts it.
    s.closedByUws(idle);
    expect(s.gate.pending).toBe(0);
  });

  it('closes silent connections past the handshake deadline, oldest first, and only those', () => {
    const s = server(10, 1000);
    const a = s.connect();
    s.now = 400;
    const b = s.connect();
    const c = s.connect();
    s.request(c);
    s.now = 999;
    expect(s.gate.expire()).toBe(1);
    expect(a.closed).toBe(false);
    s.now = 1000;
    expect(s.gate.expire()).toBe(400);
    expect([a.closed, b.closed, c.closed]).toEqual([true, false, false]);
    s.now = 5000;
    expect(s.gate.expire()).toBeUndefined();
    expect([b.closed, c.closed]).toEqual([true, false]);
    expect(s.shed).toEqual(['handshake_timeout', 'handshake_timeout']);
    expect(s.gate.pending).toBe(1);
    expect(s.gate.silent).toBe(0);
  });

  it('forgets a silent connection that closed by itself', () => {
    const s = server(10, 1000);
    const a = s.connect();
    s.closedByUws(a);
    expect(s.gate.silent).toBe(0);
    expect(s.gate.pending).toBe(0);
    s.now = 2000;
    s.gate.expire();
    expect(s.shed).toEqual([]);
  });

  it('runs its own deadline timer', async () => {
    const gate = new ConnectionGate({ maxPending: 10, handshakeTimeoutMs: 50 });
    const conn = { closed: false, close() { this.closed = true; gate.closed(); } };
    gate.accepted(conn, '10.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 200));
    gate.stop();
    expect(conn.closed).toBe(true);
    expect(gate.pending).toBe(0);
  });

  it('refuses a limit below one and a non-positive deadline', () => {
    expect(() => new ConnectionGate({ maxPending: 0, handshakeTimeoutMs: 1000 })).toThrow(TypeError);
    expect(() => new ConnectionGate({ maxPending: 1, handshakeTimeoutMs: 0 })).toThrow(TypeError);
  });
});
