import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FixedLabelHistogram } from './latency-histogram.js';

/**
 * Per-type frame totals kept in a plain map and copied into a prom-client counter when it is
 * scraped: counting runs for every frame in and out, and prom-client's `inc(labels)` hashes
 * and validates its labels on every call.
 */
class FrameTotals {
  readonly #totals = new Map<string, number>();

  add(type: string): void {
    this.#totals.set(type, (this.#totals.get(type) ?? 0) + 1);
  }

  copyInto(counter: Counter<'type'>): void {
    counter.reset();
    for (const [type, n] of this.#totals) counter.inc({ type }, n);
  }
}

/** The signal node's Prometheus metrics (one registry per node, served at `/metrics`). */
export class SignalMetrics {
  readonly registry = new Registry();
  readonly sockets: Gauge;
  readonly calls: Gauge<'status'>;
  /** Frames received from clients, by type (`signal_frames_in_total`). */
  readonly framesIn = new FrameTotals();
  /** Frames sent to clients, by type (`signal_frames_out_total`). */
  readonly framesOut = new FrameTotals();
  /** Receipt-to-send latency of relayed frames, by path (`signal_relay_latency_seconds`). */
  readonly relayLatency: FixedLabelHistogram<'local' | 'remote'>;
  readonly publishFailures: Counter;
  readonly backpressureDrops: Counter;
  readonly closes: Counter<'code'>;
  readonly upgradesRefused: Counter<'reason'>;
  readonly connectionsShed: Counter<'reason'>;
  readonly replayed: Counter;
  readonly parked: Counter;
  /** Where each `join` found its call (`signal_join_call_lookups_total`): `cache`, or `store` on a miss. */
  readonly joinLookups = { cache: 0, store: 0 };

  constructor(collect: { sockets: () => number; callsByStatus: () => Record<string, number>; pendingConnections?: () => number }, defaults = true) {
    const registers = [this.registry];
    this.sockets = new Gauge({ name: 'signal_sockets', help: 'Open signaling sockets on this node.', registers, collect() { this.set(collect.sockets()); } });
    new Gauge({ name: 'signal_pending_connections', help: 'Connections to the signal port that have not upgraded (silent, or with a request in flight).', registers, collect() { this.set(collect.pendingConnections?.() ?? 0); } });
    this.calls = new Gauge({
      name: 'signal_calls', help: 'Calls with a member on this node, by call status.', labelNames: ['status'], registers,
      collect() {
        this.reset();
        for (const [status, n] of Object.entries(collect.callsByStatus())) this.set({ status }, n);
      },
    });
    const framesIn = this.framesIn;
    const framesOut = this.framesOut;
    new Counter({ name: 'signal_frames_in_total', help: 'Frames received from clients, by type.', labelNames: ['type'], registers, collect() { framesIn.copyInto(this); } });
    new Counter({ name: 'signal_frames_out_total', help: 'Frames sent to clients, by type.', labelNames: ['type'], registers, collect() { framesOut.copyInto(this); } });
    this.relayLatency = new FixedLabelHistogram(
      'signal_relay_latency_seconds', 'From receipt on the sender\'s socket to send on the receiver\'s socket.', 'path', ['local', 'remote'],
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    );
    this.registry.registerMetric(this.relayLatency.asRegistryMetric());
    this.publishFailures = new Counter({ name: 'signal_redis_publish_failures_total', help: 'Cross-node publishes that failed (Redis down).', registers });
    this.backpressureDrops = new Counter({ name: 'signal_backpressure_drops_total', help: 'Sockets closed because their send buffer exceeded the limit.', registers });
    this.closes = new Counter({ name: 'signal_closes_total', help: 'Socket closes by close code.', labelNames: ['code'], registers });
    this.connectionsShed = new Counter({ name: 'signal_connections_shed_total', help: 'Connections closed before their first request, by reason (over_limit, handshake_timeout).', labelNames: ['reason'], registers });
    this.upgradesRefused = new Counter({ name: 'signal_upgrades_refused_total', help: 'WebSocket upgrades refused, by reason (unauthorized, draining, full).', labelNames: ['reason'], registers });
    this.replayed = new Counter({ name: 'signal_replayed_frames_total', help: 'Frames replayed to resuming peers.', registers });
    this.parked = new Counter({ name: 'signal_parked_frames_total', help: 'Frames for a peer whose node no longer listened, kept for its resume.', registers });
    const joinLookups = this.joinLookups;
    new Counter({
      name: 'signal_join_call_lookups_total', help: 'Calls looked up by joins, by where they were found (cache, or store on a miss).', labelNames: ['source'], registers,
      collect() {
        this.reset();
        for (const [source, n] of Object.entries(joinLookups)) this.inc({ source }, n);
      },
    });
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'signal_' });
  }
}
