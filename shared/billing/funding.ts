import type { Collection, Db } from 'mongodb';
import { updateEach } from '../runtime/mongo/update-each.js';

/**
 * How many paid minutes a running call has left, written by the API's billing worker as minutes
 * apply and holds are extended, read by the signal tier to warn the guest and end the call with
 * `insufficient_funds` (`call_funding`, `_id` = call id). `exhausted`: the hold cannot be
 * extended any more, so `paidMinutesLeft` only goes down from here.
 */
export interface CallFunding {
  callId: string;
  /** Paid minutes left after the minutes applied so far. */
  paidMinutesLeft: number;
  exhausted: boolean;
  /**
   * The highest minute index the billing worker had applied when it wrote this (0: the initial
   * hold). Minutes after it still count against `paidMinutesLeft` when they are billed.
   */
  throughMinute: number;
  updatedAt: Date;
}

/** What the signal tier reads (implemented by `MongoFundingStore`). */
export interface FundingSource {
  /** The call's funding, or null for a call without a hold (free). */
  get(callId: string): Promise<CallFunding | null>;
}

interface FundingDocument {
  _id: string;
  paid_minutes_left: number;
  exhausted: boolean;
  /** Absent in documents written before it existed (read as 0). */
  through_minute?: number;
  updated_at: Date;
}

export class MongoFundingStore implements FundingSource {
  readonly collection: Collection<FundingDocument>;

  constructor(db: Db) {
    this.collection = db.collection<FundingDocument>('call_funding');
  }

  /** Stores the call's funding; `throughMinute` never goes back (a late minute applied out of order keeps the highest). */
  async set(funding: CallFunding): Promise<void> {
    await this.collection.updateOne(
      { _id: funding.callId },
      {
        $set: { paid_minutes_left: funding.paidMinutesLeft, exhausted: funding.exhausted, updated_at: funding.updatedAt },
        $max: { through_minute: funding.throughMinute },
      },
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
    return doc
      ? { callId, paidMinutesLeft: doc.paid_minutes_left, exhausted: doc.exhausted, throughMinute: doc.through_minute ?? 0, updatedAt: doc.updated_at }
      : null;
  }
}
