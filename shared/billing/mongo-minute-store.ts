import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from '../runtime/mongo/errors.js';
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
  }

  async record(m: MinuteRecord): Promise<void> {
    try {
      await this.collection.insertOne({
        _id: minuteKey(m.callId, m.minute), call_id: m.callId, minute: m.minute, at: m.at, host_id: m.hostId, guest_id: m.guestId,
        reconnecting: [...m.reconnecting], late: m.late, node: m.node, recorded_at: this.now(), applied_at: null,
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  async pending(limit: number): Promise<StoredMinute[]> {
    const docs = await this.collection.find({ applied_at: null }).sort({ recorded_at: 1, _id: 1 }).limit(limit).toArray();
    return docs.map(fromDocument);
  }

  pendingOf(callId: string): Promise<number> {
    return this.collection.countDocuments({ call_id: callId, applied_at: null });
  }

  async markApplied(callId: string, minute: number, at: Date): Promise<void> {
    await this.collection.updateOne({ _id: minuteKey(callId, minute), applied_at: null }, { $set: { applied_at: at } });
  }
}
