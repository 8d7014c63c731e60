import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './errors.js';
import { insertManyOnce } from './insert-once.js';

/**
 * What became of one minute the signal tier counted: `billed` (in the ledger), `free` (a call
 * at rate 0), or not billed: `reconnecting` (a peer was reconnecting), `unfunded` (no paid
 * minute left on the hold), `after_end` (the minute ended after the call did), `late` (it
 * arrived after the call was settled).
 */
export type MinuteStatus = 'billed' | 'free' | 'reconnecting' | 'unfunded' | 'after_end' | 'late';

export interface BilledMinute {
  call_id: string;
  minute: number;
  status: MinuteStatus;
  payment_id: string | null;
  currency: string;
  gross_minor: number;
  fee_minor: number;
  net_minor: number;
  at: Date;
  applied_at: Date;
}

type BilledMinuteDocument = BilledMinute & { _id: string };

/** The `billed_minutes` collection, `_id` = `<callId>:<minute>`: one outcome per minute, first writer wins. */
export class BilledMinutesRepository {
  readonly collection: Collection<BilledMinuteDocument>;

  constructor(db: Db) {
    this.collection = db.collection<BilledMinuteDocument>('billed_minutes');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ call_id: 1, status: 1 });
  }

  /** Stores the outcome unless one is stored; returns the stored outcome. */
  async recordOnce(row: BilledMinute): Promise<BilledMinute> {
    const _id = `${row.call_id}:${row.minute}`;
    try {
      await this.collection.insertOne({ _id, ...row });
      return row;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const { _id: _ignored, ...stored } = (await this.collection.findOne({ _id }))!;
      return stored;
    }
  }

  /**
   * Stores each outcome unless one is stored (one unordered insert); returns the stored
   * outcomes, in order: the ones given, or the first writer's where a row existed.
   */
  async recordMany(rows: BilledMinute[]): Promise<BilledMinute[]> {
    const docs = rows.map((row) => ({ _id: `${row.call_id}:${row.minute}`, ...row }));
    const duplicates = await insertManyOnce(this.collection, docs);
    if (duplicates.size === 0) return rows;
    // Rare (another process applying the same minutes): read the winners one by one, by `_id`.
    return Promise.all(rows.map(async (row, i) => {
      if (!duplicates.has(i)) return row;
      const stored = await this.collection.findOne({ _id: docs[i]!._id });
      if (!stored) throw new Error(`billed minute ${docs[i]!._id} reported duplicate but not found`);
      const { _id: _ignored, ...rest } = stored;
      return rest;
    }));
  }

  async countBilled(callId: string): Promise<number> {
    return this.collection.countDocuments({ call_id: callId, status: 'billed' });
  }

  /** Totals of the call's billed minutes. */
  async totals(callId: string): Promise<{ minutes: number; gross: number; fee: number; net: number }> {
    const rows = await this.collection.find({ call_id: callId, status: 'billed' }).project<{ gross_minor: number; fee_minor: number; net_minor: number }>({ gross_minor: 1, fee_minor: 1, net_minor: 1 }).toArray();
    return rows.reduce((t, r) => ({ minutes: t.minutes + 1, gross: t.gross + r.gross_minor, fee: t.fee + r.fee_minor, net: t.net + r.net_minor }), { minutes: 0, gross: 0, fee: 0, net: 0 });
  }

  async ofCall(callId: string): Promise<BilledMinute[]> {
    const docs = await this.collection.find({ call_id: callId }).sort({ minute: 1 }).toArray();
    return docs.map(({ _id, ...rest }) => rest);
  }
}
