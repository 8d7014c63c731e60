import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './errors.js';

export type StripeEventStatus = 'processing' | 'processed' | 'ignored';

/** One Stripe webhook event as received, keyed by Stripe's event id. */
export interface StripeEventRecord {
  id: string;
  type: string;
  /** Stripe's `created` (seconds), the order handlers compare. */
  created: number;
  /** Id of `data.object` (pi_…, ch_…, acct_…, po_…, tr_…). */
  object_id: string | null;
  livemode: boolean;
  status: StripeEventStatus;
  /** Until when a `processing` claim is owned; a later delivery may take over after it. */
  lease_until: Date;
  deliveries: number;
  received_at: Date;
  processed_at: Date | null;
}

type StripeEventDocument = Omit<StripeEventRecord, 'id'> & { _id: string };

export type ClaimResult =
  | { claimed: true }
  | { claimed: false; existing: StripeEventRecord };

function toRecord({ _id, ...rest }: StripeEventDocument): StripeEventRecord {
  return { id: _id, ...rest };
}

/**
 * The `stripe_events` collection: one document per event id. Claiming rests on a unique `_id`
 * insert (the exactly-once primitive MongoDB and FerretDB 1.24 share); a claim whose holder died
 * expires with its lease, and a failed attempt is deleted so Stripe's retry claims it afresh.
 */
export class StripeEventsRepository {
  private readonly events: Collection<StripeEventDocument>;

  constructor(db: Db) {
    this.events = db.collection<StripeEventDocument>('stripe_events');
  }

  async ensureIndexes(): Promise<void> {
    await this.events.createIndex({ object_id: 1, created: -1 });
    await this.events.createIndex({ received_at: -1 });
  }

  /**
   * Claims the event for processing. Not claimed when another delivery already processed it or
   * holds an unexpired claim; an expired claim is taken over (only one taker wins the re-insert).
   */
  async claim(event: Pick<StripeEventRecord, 'id' | 'type' | 'created' | 'object_id' | 'livemode'>, now: Date, leaseMs: number): Promise<ClaimResult> {
    const { id, ...fields } = event;
    const doc: StripeEventDocument = {
      _id: id, ...fields, status: 'processing', lease_until: new Date(now.getTime() + leaseMs), deliveries: 1, received_at: now, processed_at: null,
    };
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await this.events.insertOne(doc);
        return { claimed: true };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const existing = await this.events.findOneAndUpdate({ _id: id }, { $inc: { deliveries: 1 } }, { returnDocument: 'after' });
      if (!existing) continue;
      if (existing.status !== 'processing' || existing.lease_until.getTime() > now.getTime()) return { claimed: false, existing: toRecord(existing) };
      await this.events.deleteOne({ _id: id, status: 'processing', lease_until: existing.lease_until });
      doc.deliveries = existing.deliveries;
    }
    const latest = await this.events.findOne({ _id: id });
    return latest ? { claimed: false, existing: toRecord(latest) } : { claimed: false, existing: toRecord(doc) };
  }

  async finish(id: string, status: Exclude<StripeEventStatus, 'processing'>, now: Date): Promise<void> {
    await this.events.updateOne({ _id: id }, { $set: { status, processed_at: now } });
  }

  /** Forgets a claim whose processing failed, so the next delivery processes the event again. */
  async release(id: string): Promise<void> {
    await this.events.deleteOne({ _id: id, status: 'processing' });
  }

  async findById(id: string): Promise<StripeEventRecord | null> {
    const doc = await this.events.findOne({ _id: id });
    return doc ? toRecord(doc) : null;
  }
}
