import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from '../runtime/mongo/errors.js';
import { updateEach } from '../runtime/mongo/update-each.js';
import { minuteKey, type MinuteRecord, type MinuteSink, type MinuteSource, type StoredMinute } from './minute-store.js';

interface MinuteDocument {
  _id: string;
  call_id: string;
  minute: number;
  at: Date;
  host_id: string;
  guest_id: string;
  reconnecting: string[];
  late: boolean;
  node: string;
  recorded_at: Date;
  applied_at: Date | null;
  /**
   * True until applied. FerretDB 1.x pushes an equality on a boolean down to its backend (index),
   * but not `applied_at: null`, `$in` or a sort: those read the whole collection in FerretDB.
   */
  pending?: boolean;
}

function fromDocument(doc: MinuteDocument): StoredMinute {
  return {
    callId: doc.call_id, minute: doc.minute, at: doc.at, hostId: doc.host_id, guestId: doc.guest_id,
    reconnecting: doc.reconnecting, late: doc.late, node: doc.node, recordedAt: doc.recorded_at, appliedAt: doc.applied_at,
  };
}

/**
 * The minute store on MongoDB (`minute_ticks`, `_id` = `<callId>:<minute>`): works the same with
 * or without Redis, and survives restarts of either tier. A duplicate insert is the idempotent
 * repeat of a minute already recorded.
 */
export class MongoMinuteStore implements MinuteSink, MinuteSource {
  readonly collection: Collection<MinuteDocument>;

  constructor(db: Db, private readonly now: () => Date = () => new Date()) {
    this.collection = db.collection<MinuteDocument>('minute_ticks');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ applied_at: 1, recorded_at: 1 });
    await this.collection.createIndex({ call_id: 1, applied_at: 1 });
    await this.collection.createIndex({ pending: 1 });
    // Minutes recorded before the `pending` flag existed (a full scan, once per start).
    await this.collection.updateMany({ applied_at: null, pending: { $exists: false } }, { $set: { pending: true } });
  }

  async record(m: MinuteRecord): Promise<void> {
    try {
      await this.collection.insertOne({
        _id: minuteKey(m.callId, m.minute), call_id: m.callId, minute: m.minute, at: m.at, host_id: m.hostId, guest_id: m.guestId,
        reconnecting: [...m.reconnecting], late: m.late, node: m.node, recorded_at: this.now(), applied_at: null, pending: true,
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  /** In natural (≈ recording) order, sorted here: a sort in the query would read every pending minute. */
  async pending(limit: number): Promise<StoredMinute[]> {
    const docs = await this.collection.find({ pending: true }).limit(limit).toArray();
    return docs.map(fromDocument).sort((a, b) => a.recordedAt.getTime() - b.recordedAt.getTime() || a.callId.localeCompare(b.callId) || a.minute - b.minute);
  }

  pendingOf(callId: string): Promise<number> {
    return this.collection.countDocuments({ call_id: callId, applied_at: null });
  }

  async markApplied(callId: string, minute: number, at: Date): Promise<void> {
    await this.markAppliedMany([{ callId, minute }], at);
  }

  /** An update by `_id` per minute (an `$in` filter would read the whole collection in FerretDB). */
  async markAppliedMany(minutes: ReadonlyArray<{ callId: string; minute: number }>, at: Date): Promise<void> {
    await updateEach(minutes, (m) => this.collection.updateOne({ _id: minuteKey(m.callId, m.minute), applied_at: null }, { $set: { applied_at: at, pending: false } }));
  }
}
