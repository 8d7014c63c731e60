/** An object a `DeadlineWheel` can hold: the wheel keeps its slot on it (no side table to look up). */
export interface WheelEntry {
  /** The slot this entry waits in; -1 when it is in none. Written only by the wheel. */
  wheelSlot: number;
}

/**
 * A hashed timing wheel of coarse deadlines: `schedule(entry, at)` files an entry under the
 * slot of `at`, rounded up to the resolution, so it never comes due early; `takeDue(now)` hands
 * back the entries of every slot that has passed. An entry waits in at most one slot (scheduling
 * it again moves it) and costs nothing until its slot comes up, so a node holding tens of
 * thousands of sockets examines per tick only those whose deadline fell in that tick, not all of
 * them. Times are milliseconds on any clock that does not go backwards by much; slots are
 * counted from the wheel's creation, so slot numbers stay small integers.
 */
export class DeadlineWheel<T extends WheelEntry> {
  readonly #slots = new Map<number, Set<T>>();
  readonly #origin: number;
  /** The first slot not yet handed out by `takeDue`. */
  #next = 0;
  #size = 0;

  constructor(private readonly resolutionMs: number, now: number) {
    if (!(resolutionMs > 0)) throw new TypeError('resolutionMs must be positive');
    this.#origin = now;
  }

  /** Entries waiting. */
  get size(): number {
    return this.#size;
  }

  /** Files `entry` to come due at `at` (or at the next `takeDue` when `at` has passed); moves it if it was waiting already. */
  schedule(entry: T, at: number): void {
    const slot = this.#slotFor(at);
    if (entry.wheelSlot === slot) return;
    this.cancel(entry);
    let bucket = this.#slots.get(slot);
    if (!bucket) {
      bucket = new Set();
      this.#slots.set(slot, bucket);
    }
    bucket.add(entry);
    entry.wheelSlot = slot;
    this.#size += 1;
  }

  /** Files `entry` for `at` unless it already waits for an earlier slot. */
  scheduleNoLaterThan(entry: T, at: number): void {
    if (entry.wheelSlot >= 0 && entry.wheelSlot <= this.#slotFor(at)) return;
    this.schedule(entry, at);
  }

  /** Takes `entry` off the wheel (nothing when it is not on it). */
  cancel(entry: T): void {
    if (entry.wheelSlot < 0) return;
    const bucket = this.#slots.get(entry.wheelSlot);
    if (bucket?.delete(entry)) {
      this.#size -= 1;
      if (bucket.size === 0) this.#slots.delete(entry.wheelSlot);
    }
    entry.wheelSlot = -1;
  }

  /** Removes and returns every entry whose slot ends at or before `now`, earliest slot first. */
  takeDue(now: number): T[] {
    const last = Math.floor((now - this.#origin) / this.resolutionMs);
    const due: T[] = [];
    if (last < this.#next) return due;
    if (this.#slots.size > 0) {
      // Walk the slots or the occupied keys, whichever is fewer (a long stall or a clock jump).
      if (last - this.#next + 1 <= this.#slots.size) {
        for (let slot = this.#next; slot <= last; slot += 1) this.#drain(slot, due);
      } else {
        const passed = [...this.#slots.keys()].filter((slot) => slot <= last).sort((a, b) => a - b);
        for (const slot of passed) this.#drain(slot, due);
      }
    }
    this.#next = last + 1;
    return due;
  }

  /** The first slot ending at or after `at`, and never one already handed out. */
  #slotFor(at: number): number {
    return Math.max(this.#next, Math.ceil((at - this.#origin) / this.resolutionMs));
  }

  #drain(slot: number, into: T[]): void {
    const bucket = this.#slots.get(slot);
    if (!bucket) return;
    this.#slots.delete(slot);
    for (const entry of bucket) {
      entry.wheelSlot = -1;
      into.push(entry);
    }
    this.#size -= bucket.size;
  }
}
