import type { Logger } from 'pino';
import { minuteKey, type MinuteRecord, type MinuteSink } from './minute-store.js';
import type { MinuteOutbox } from './redis-minute-outbox.js';

/** Parked minutes one adoption pass writes out. */
const ADOPT_BATCH = 500;

export interface MinuteRecorderOptions {
  sink: MinuteSink;
  log: Logger;
  /** Delay before retrying minutes whose write failed (storage down); also the adoption period. */
  retryMs: number;
  /** Most minutes kept in memory while storage is down; the oldest are dropped (and logged) beyond. */
  maxQueued: number;
  /**
   * Where each minute is parked until the store has it (Redis in a cluster), so that it outlives
   * this node: every recorder adopts minutes parked longer than `adoptAfterMs` (their node died
   * or is stuck) and writes them out. None: minutes live only in this process until stored.
   */
  outbox?: MinuteOutbox;
  adoptAfterMs?: number;
}

/**
 * The signal side's writer: records each tick in the minute store, and keeps minutes whose write
 * failed in a bounded in-memory queue retried every `retryMs` until they are stored. With an
 * outbox, each minute is also parked there first and removed once stored, and parked minutes of
 * other nodes are adopted: a node killed while the store is unreachable loses nothing.
 * `close()` makes a last attempt.
 */
export class MinuteRecorder {
  readonly #queue = new Map<string, MinuteRecord>();
  /** Minutes to park at the next microtask (one round trip for a sweep's burst of ticks). */
  #toPark: MinuteRecord[] = [];
  /** Queued minutes whose parking failed (outbox down): parked again at the next retry. */
  readonly #unparked = new Set<string>();
  #parking: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #adopter: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #adopting = false;

  constructor(private readonly options: MinuteRecorderOptions) {
    if (options.outbox) {
      this.#adopter = setInterval(() => void this.adopt(), options.retryMs);
      this.#adopter.unref();
    }
  }

  /** Minutes not yet stored. */
  get backlog(): number {
    return this.#queue.size;
  }

  /** Records a minute in the background; never throws. */
  record(minute: MinuteRecord): void {
    const key = minuteKey(minute.callId, minute.minute);
    if (!this.#queue.has(key)) {
      this.#queue.set(key, minute);
      this.#park(minute);
    }
    if (this.#queue.size > this.options.maxQueued) {
      const [oldest] = this.#queue.keys();
      if (oldest !== undefined) {
        this.#queue.delete(oldest);
        this.#unparked.delete(oldest);
        this.options.log.error({ minute: oldest }, 'billing minute dropped: storage down too long');
      }
    }
    void this.flush();
  }

  #park(minute: MinuteRecord): void {
    const { outbox } = this.options;
    if (!outbox) return;
    this.#toPark.push(minute);
    if (this.#toPark.length > 1) return;
    queueMicrotask(() => {
      const batch = this.#toPark;
      this.#toPark = [];
      this.#parking = outbox.park(batch).catch((err: unknown) => {
        this.options.log.warn({ err, minutes: batch.length }, 'billing minutes not parked in the outbox; kept in memory');
        for (const m of batch) {
          const key = minuteKey(m.callId, m.minute);
          if (this.#queue.has(key)) this.#unparked.add(key);
        }
      });
    });
  }

  /** Writes every queued minute once; failures stay queued and are retried later. */
  flush(): Promise<void> {
    return (this.#flushing ??= (async () => {
      const stored: string[] = [];
      try {
        while (this.#queue.size > 0) {
          const [key, minute] = this.#queue.entries().next().value as [string, MinuteRecord];
          try {
            await this.options.sink.record(minute);
            if (this.#queue.get(key) === minute) this.#queue.delete(key);
            this.#unparked.delete(key);
            stored.push(key);
          } catch (err) {
            this.options.log.warn({ err, call: minute.callId, minute: minute.minute }, 'billing minute not stored yet; will retry');
            this.#schedule();
            return;
          }
        }
      } finally {
        this.#flushing = undefined;
        await this.#unpark(stored);
      }
    })());
  }

  /** Removes stored minutes from the outbox (after their parking: same connection, in order). */
  async #unpark(keys: string[]): Promise<void> {
    const { outbox } = this.options;
    if (!outbox || keys.length === 0) return;
    await this.#parking;
    // Left parked on failure: an adoption writes the minute again (a no-op) and removes it.
    await outbox.remove(keys).catch(() => undefined);
  }

  /** Writes out minutes parked by any node longer than `adoptAfterMs` that this one is not writing. */
  async adopt(): Promise<void> {
    const { outbox, sink, log } = this.options;
    if (!outbox || this.#adopting) return;
    this.#adopting = true;
    try {
      const stale = await outbox.stale(Date.now() - (this.options.adoptAfterMs ?? this.options.retryMs), ADOPT_BATCH);
      const adopted: string[] = [];
      for (const minute of stale) {
        const key = minuteKey(minute.callId, minute.minute);
        if (this.#queue.has(key)) continue;
        await sink.record(minute);
        adopted.push(key);
      }
      if (adopted.length > 0) {
        await outbox.remove(adopted);
        log.info({ minutes: adopted.length }, 'parked billing minutes written out');
      }
    } catch (err) {
      log.debug({ err }, 'parked billing minutes not adopted yet');
    } finally {
      this.#adopting = false;
    }
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const unparked = [...this.#unparked].map((key) => this.#queue.get(key)).filter((m): m is MinuteRecord => m !== undefined);
      this.#unparked.clear();
      for (const m of unparked) this.#park(m);
      void this.flush();
    }, this.options.retryMs);
    this.#timer.unref();
  }

  /** Stops retrying and adopting after one last flush; minutes still unstored stay parked for other nodes. */
  async close(): Promise<void> {
    if (this.#adopter) clearInterval(this.#adopter);
    this.#adopter = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.size > 0) this.options.log.error({ backlog: this.#queue.size, parked: this.options.outbox !== undefined }, 'billing minutes not stored at shutdown');
  }
}
