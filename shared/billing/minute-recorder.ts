import type { Logger } from 'pino';
import type { MinuteRecord, MinuteSink } from './minute-store.js';

export interface MinuteRecorderOptions {
  sink: MinuteSink;
  log: Logger;
  /** Delay before retrying minutes whose write failed (storage down). */
  retryMs: number;
  /** Most minutes kept in memory while storage is down; the oldest are dropped (and logged) beyond. */
  maxQueued: number;
}

/**
 * The signal side's writer: records each tick in the minute store, and keeps minutes whose write
 * failed in a bounded in-memory queue retried every `retryMs` until they are stored. `close()`
 * makes a last attempt. A minute can be lost only if the node dies while its write is failing.
 */
export class MinuteRecorder {
  readonly #queue = new Map<string, MinuteRecord>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(private readonly options: MinuteRecorderOptions) {}

  /** Minutes not yet stored. */
  get backlog(): number {
    return this.#queue.size;
  }

  /** Records a minute in the background; never throws. */
  record(minute: MinuteRecord): void {
    const key = `${minute.callId}:${minute.minute}`;
    if (!this.#queue.has(key)) this.#queue.set(key, minute);
    if (this.#queue.size > this.options.maxQueued) {
      const [oldest] = this.#queue.keys();
      if (oldest !== undefined) {
        this.#queue.delete(oldest);
        this.options.log.error({ minute: oldest }, 'billing minute dropped: storage down too long');
      }
    }
    void this.flush();
  }

  /** Writes every queued minute once; failures stay queued and are retried later. */
  flush(): Promise<void> {
    return (this.#flushing ??= (async () => {
      try {
        while (this.#queue.size > 0) {
          const [key, minute] = this.#queue.entries().next().value as [string, MinuteRecord];
          try {
            await this.options.sink.record(minute);
            if (this.#queue.get(key) === minute) this.#queue.delete(key);
          } catch (err) {
            this.options.log.warn({ err, call: minute.callId, minute: minute.minute }, 'billing minute not stored yet; will retry');
            this.#schedule();
            return;
          }
        }
      } finally {
        this.#flushing = undefined;
      }
    })());
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.options.retryMs);
    this.#timer.unref();
  }

  /** Stops retrying after one last flush. */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.size > 0) this.options.log.error({ backlog: this.#queue.size }, 'billing minutes not stored at shutdown');
  }
}
