import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../scripts/loadtest/clock.js';
import { RampScheduler } from '../../../scripts/loadtest/scheduler.js';

class FakeClock implements Clock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 0;
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.nextId;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void { this.timers = this.timers.filter((x) => x.id !== handle); }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

describe('RampScheduler', () => {
  it('starts calls at the ramp rate, in order, the first at once', () => {
    const clock = new FakeClock();
    const started: Array<[number, number]> = [];
    const s = new RampScheduler({ total: 10, ratePerSec: 4, concurrency: 100 }, clock, (i) => started.push([i, clock.now()]));
    s.run();
    expect(started).toEqual([[0, 0]]);
    clock.advance(1000);
    expect(started.map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
    expect(started.map(([, t]) => t)).toEqual([0, 250, 500, 750, 1000]);
    clock.advance(10_000);
    expect(started).toHaveLength(10);
  });

  it('never exceeds the concurrency and refills a slot when a call is released', async () => {
    const clock = new FakeClock();
    const started: number[] = [];
    const s = new RampScheduler({ total: 5, ratePerSec: 1000, concurrency: 2 }, clock, (i) => started.push(i));
    s.run();
    clock.advance(100);
    expect(started).toEqual([0, 1]);
    expect(s.inFlight).toBe(2);
    s.release();
    expect(started).toEqual([0, 1, 2]);
    s.release();
    s.release();
    clock.advance(100);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    let done = false;
    void s.done.then(() => { done = true; });
    s.release();
    await Promise.resolve();
    expect(done).toBe(false);
    s.release();
    await s.done;
    expect(s.inFlight).toBe(0);
  });

  it('stop() starts nothing more and resolves once the running calls end', async () => {
    const clock = new FakeClock();
    const started: number[] = [];
    const s = new RampScheduler({ total: 100, ratePerSec: 1, concurrency: 100 }, clock, (i) => started.push(i));
    s.run();
    clock.advance(2000);
    s.stop();
    clock.advance(10_000);
    expect(started).toEqual([0, 1, 2]);
    s.release(); s.release(); s.release();
    await s.done;
  });

  it('refuses a zero rate', () => {
    expect(() => new RampScheduler({ total: 1, ratePerSec: 0, concurrency: 1 }, new FakeClock(), () => undefined)).toThrow(TypeError);
  });
});
