/**
 * The durable input of billing: one record per (call, minute) the signal tier counted, written
 * by the signal node that emitted the tick and consumed by the API's billing worker. Both sides
 * are idempotent: recording a minute twice keeps the first record; a minute is applied once.
 */
export interface MinuteRecord {
  callId: string;
  /** Whole period of the active call that elapsed: 1, 2, … */
  minute: number;
  /** When the minute ended (call answered_at + minute × tick period). */
  at: Date;
  hostId: string;
  guestId: string;
  /** Peers reconnecting at `at`: such a minute is not billed (docs/payments.md). */
  reconnecting: string[];
  /** The node that emitted it held no participant at `at` (see signal/calls/events.ts). */
  late: boolean;
  node: string;
}

export interface StoredMinute extends MinuteRecord {
  recordedAt: Date;
  appliedAt: Date | null;
}

/** What the signal tier writes. */
export interface MinuteSink {
  /** Stores the minute unless already stored; resolves once it is durable. */
  record(minute: MinuteRecord): Promise<void>;
}

/** What the billing worker reads. */
export interface MinuteSource {
  /** Up to `limit` unapplied minutes, oldest first. */
  pending(limit: number): Promise<StoredMinute[]>;
  /** Unapplied minutes of one call (settlement waits for them). */
  pendingOf(callId: string): Promise<number>;
  markApplied(callId: string, minute: number, at: Date): Promise<void>;
  /** Marks many minutes applied in one command. */
  markAppliedMany(minutes: ReadonlyArray<{ callId: string; minute: number }>, at: Date): Promise<void>;
}

export const minuteKey = (callId: string, minute: number): string => `${callId}:${minute}`;
