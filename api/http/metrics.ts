import type { Middleware } from 'koa';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { AppState } from './context.js';

/** The route label of a request no route matched (404, or 405 from `allowedMethods`). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The API's Prometheus metrics (one registry per API instance, served at `/metrics`). */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route' | 'status'>;
  readonly #loopDelay: IntervalHistogram;

  constructor(defaults = true) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'api_http_requests_total', help: 'HTTP requests, by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
    this.duration = new Histogram({
      name: 'api_http_request_duration_seconds', help: 'From the first middleware to the response status, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    // Own lag gauges (not only the defaults): they exist even with `defaults` off, and reset per scrape.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    this.#loopDelay = loopDelay;
    new Gauge({
      name: 'api_event_loop_lag_seconds', help: 'Event loop delay since the previous scrape, by quantile (p50, p99, max).', labelNames: ['quantile'], registers,
      collect() {
        this.set({ quantile: 'p50' }, loopDelay.percentile(50) / 1e9);
        this.set({ quantile: 'p99' }, loopDelay.percentile(99) / 1e9);
        this.set({ quantile: 'max' }, loopDelay.max / 1e9);
        loopDelay.reset();
      },
    });
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'api_' });
  }

  /** Counts and times every request by the route pattern it matched (`ctx.state.route`). */
  middleware(): Middleware<AppState> {
    return async (ctx, next) => {
      const started = process.hrtime.bigint();
      try {
        await next();
      } finally {
        const labels = { method: ctx.method, route: ctx.state.route ?? UNMATCHED_ROUTE, status: String(ctx.status) };
        this.requests.inc(labels);
        this.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      }
    };
  }

  /** Stops the event loop monitor. */
  close(): void {
    this.#loopDelay.disable();
  }
}
