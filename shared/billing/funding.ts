import type { Collection, Db } from 'mongodb';
import { updateEach } from '../runtime/mongo/update-each.js';

/**
 * How many paid minutes a running call has left, written by the API's billing worker as minutes
 * apply and holds are extended, read by the signal tier to warn the guest and end the call with
 * `insufficient_funds` (`call_funding`, `_id` = call id). `exhausted`: the hold cannot be
 * extended any more, so `paidMinutesLeft` is final.
 */
export interface CallFunding {
  callId: string;
  paidMinutesLeft: number;
  exhausted: boolean;
  updatedAt: Date;
}

interface FundingDocument {
  _id: string;
  paid_minutes_left: number;
  exhausted: boolean;
  updated_at: Date;
}

export class MongoFundingStore {
  readonly collection: Collection<FundingDocument>;

  constructor(db: Db) {
    this.collection = db.collection<FundingDocument>('call_funding');
  }

  async set(funding: CallFunding): Promise<void> {
    await this.collection.updateOne(
      { _id: funding.callId },
      { $set: { paid_minutes_left: funding.paidMinutesLeft, exhausted: funding.exhausted, updated_at: funding.updatedAt } },
      { upsert: true },
    );
  }

  /** `set` for many calls, a few at a time. */
  async setMany(fundings: CallFunding[]): Promise<void> {
    await updateEach(fundings, (funding) => this.set(funding));
  }

  /** The call's funding, or null for a call without a hold (free, or not started). */
  async get(callId: string): Promise<CallFunding | null> {
    const doc = await this.collection.findOne({ _id: callId });
    return doc ? { callId, paidMinutesLeft: doc.paid_minutes_left, exhausted: doc.exhausted, updatedAt: doc.updated_at } : null;
  }
}
