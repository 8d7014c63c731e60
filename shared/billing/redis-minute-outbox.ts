import type { Redis } from 'ioredis';
import { minuteKey, type MinuteRecord } from './minute-store.js';

/**
 * Where a signal node parks each minute it emits until the minute store has it, so that the
 * minute outlives the node: any node of the cluster writes out what a dead one left behind.
 */
export interface MinuteOutbox {
  /** Parks minutes (one round trip); a minute parked again keeps its first parking time. */
  park(minutes: readonly MinuteRecord[]): Promise<void>;
  /** Forgets minutes the store has. */
  remove(keys: readonly string[]): Promise<void>;
  /** Up to about `limit` minutes parked before `before` (ms since epoch), oldest scan first. */
  stale(before: number, limit: number): Promise<MinuteRecord[]>;
}

interface Parked {
  minute: Omit<MinuteRecord, 'at'> & { at: string };
  parkedAt: number;
}

/**
 * The outbox as one Redis hash (`<prefix>:billing:minutes`, field `<callId>:<minute>`). Redis is
 * where the cluster already keeps the tick claims, so a minute is parked on the same server that
 * decided its node should emit it. A Redis restart empties it: the living nodes still hold their
 * minutes in memory (docs/payments.md, "Exactly once").
 */
export class RedisMinuteOutbox implements MinuteOutbox {
  readonly key: string;
  #cursor = '0';

  constructor(private readonly redis: Redis, prefix: string, private readonly now: () => number = Date.now) {
    this.key = `${prefix}:billing:minutes`;
  }

  async park(minutes: readonly MinuteRecord[]): Promise<void> {
    if (minutes.length === 0) return;
    const parkedAt = this.now();
    const pipeline = this.redis.pipeline();
    for (const m of minutes) {
      const parked: Parked = { minute: { ...m, at: m.at.toISOString() }, parkedAt };
      pipeline.hsetnx(this.key, minuteKey(m.callId, m.minute), JSON.stringify(parked));
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async remove(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.redis.hdel(this.key, ...keys);
  }

  /** One HSCAN step per call (the cursor carries over), so a large outbox is walked a slice at a time. */
  async stale(before: number, limit: number): Promise<MinuteRecord[]> {
    const [next, flat] = await this.redis.hscan(this.key, this.#cursor, 'COUNT', limit);
    this.#cursor = next;
    const out: MinuteRecord[] = [];
    const unreadable: string[] = [];
    for (let i = 1; i < flat.length; i += 2) {
      let parked: Parked;
      try { parked = JSON.parse(flat[i]!) as Parked; } catch { unreadable.push(flat[i - 1]!); continue; }
      if (parked.parkedAt < before) out.push({ ...parked.minute, at: new Date(parked.minute.at) });
    }
    await this.remove(unreadable);
    return out;
  }
}
