import type { Clock } from './clock.js';

export interface RampOptions {
  /** Calls to start in total. */
  total: number;
  /** Call starts per second during the ramp (the first starts at once). */
  ratePerSec: number;
  /** Most calls in flight at once; a finished call frees a slot. */
  concurrency: number;
}

/**
 * Starts calls `0 … total-1` no faster than `ratePerSec` (start k is due at k / rate seconds) and
 * never more than `concurrency` at once. `start(k)` is called exactly once per index, in order;
 * the caller reports each finished call with `release()`. `done` resolves when every started call
 * was released.
 */
export class RampScheduler {
  private started = 0;
  private active = 0;
  private timer: unknown;
  private origin = 0;
  private stopped = false;
  private resolveDone!: () => void;
  readonly done: Promise<void>;

  constructor(private readonly options: RampOptions, private readonly clock: Clock, private readonly start: (index: number) => void) {
    if (!(options.ratePerSec > 0)) throw new TypeError('ratePerSec must be > 0');
    if (!(options.concurrency >= 1)) throw new TypeError('concurrency must be >= 1');
    this.done = new Promise((resolve) => { this.resolveDone = resolve; });
  }

  get inFlight(): number {
    return this.active;
  }

  get startedCount(): number {
    return this.started;
  }

  run(): void {
    this.origin = this.clock.now();
    this.pump();
  }

  /** One started call finished (successfully or not). */
  release(): void {
    this.active -= 1;
    this.pump();
  }

  /** Starts nothing more; `done` resolves once the calls in flight are released. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pump();
  }

  private dueAt(index: number): number {
    return this.origin + (index * 1000) / this.options.ratePerSec;
  }

  private pump(): void {
    const limit = this.stopped ? this.started : this.options.total;
    while (this.started < limit && this.active < this.options.concurrency && this.dueAt(this.started) <= this.clock.now()) {
      const index = this.started++;
      this.active += 1;
      this.start(index);
    }
    if (this.started >= limit) {
      if (this.active === 0) this.resolveDone();
      return;
    }
    if (this.active < this.options.concurrency && this.timer === undefined) {
      const wait = Math.max(0, this.dueAt(this.started) - this.clock.now());
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, Math.max(1, Math.ceil(wait)));
    }
  }
}
