import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The signal node's Prometheus metrics (one registry per node, served at `/metrics`). */
export class SignalMetrics {
  readonly registry = new Registry();
  readonly sockets: Gauge;
  readonly calls: Gauge<'status'>;
  readonly framesIn: Counter<'type'>;
  readonly framesOut: Counter<'type'>;
  readonly relayLatency: Histogram<'path'>;
  readonly publishFailures: Counter;
  readonly backpressureDrops: Counter;
  readonly closes: Counter<'code'>;
  readonly replayed: Counter;
  readonly parked: Counter;

  constructor(collect: { sockets: () => number; callsByStatus: () => Record<string, number> }, defaults = true) {
    const registers = [this.registry];
    this.sockets = new Gauge({ name: 'signal_sockets', help: 'Open signaling sockets on this node.', registers, collect() { this.set(collect.sockets()); } });
    this.calls = new Gauge({
      name: 'signal_calls', help: 'Calls with a member on this node, by call status.', labelNames: ['status'], registers,
      collect() {
        this.reset();
        for (const [status, n] of Object.entries(collect.callsByStatus())) this.set({ status }, n);
      },
    });
    this.framesIn = new Counter({ name: 'signal_frames_in_total', help: 'Frames received from clients, by type.', labelNames: ['type'], registers });
    this.framesOut = new Counter({ name: 'signal_frames_out_total', help: 'Frames sent to clients, by type.', labelNames: ['type'], registers });
    this.relayLatency = new Histogram({
      name: 'signal_relay_latency_seconds', help: 'From receipt on the sender\'s socket to send on the receiver\'s socket.', labelNames: ['path'], registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    });
    this.publishFailures = new Counter({ name: 'signal_redis_publish_failures_total', help: 'Cross-node publishes that failed (Redis down).', registers });
    this.backpressureDrops = new Counter({ name: 'signal_backpressure_drops_total', help: 'Sockets closed because their send buffer exceeded the limit.', registers });
    this.closes = new Counter({ name: 'signal_closes_total', help: 'Socket closes by close code.', labelNames: ['code'], registers });
    this.replayed = new Counter({ name: 'signal_replayed_frames_total', help: 'Frames replayed to resuming peers.', registers });
    this.parked = new Counter({ name: 'signal_parked_frames_total', help: 'Frames for a peer whose node no longer listened, kept for its resume.', registers });
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'signal_' });
  }
}
