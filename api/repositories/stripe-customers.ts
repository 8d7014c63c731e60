import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './errors.js';

/** The Stripe Customer that holds a user's (or guest session's) saved payment methods. */
export interface StripeCustomerRecord {
  /** Our principal id: a user id or a guest session's `gs_…`. */
  user_id: string;
  customer_id: string;
  created_at: Date;
}

type StripeCustomerDocument = { _id: string; customer_id: string; created_at: Date };

/** The `stripe_customers` collection: at most one customer per principal (unique `_id`). */
export class StripeCustomersRepository {
  private readonly customers: Collection<StripeCustomerDocument>;

  constructor(db: Db) {
    this.customers = db.collection<StripeCustomerDocument>('stripe_customers');
  }

  async ensureIndexes(): Promise<void> {
    await this.customers.createIndex({ customer_id: 1 }, { unique: true });
  }

  async find(userId: string): Promise<StripeCustomerRecord | null> {
    const doc = await this.customers.findOne({ _id: userId });
    return doc ? { user_id: doc._id, customer_id: doc.customer_id, created_at: doc.created_at } : null;
  }

  /** Records the customer unless one is recorded already; returns the one that is kept. */
  async insertOrGet(record: StripeCustomerRecord): Promise<StripeCustomerRecord> {
    try {
      await this.customers.insertOne({ _id: record.user_id, customer_id: record.customer_id, created_at: record.created_at });
      return record;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.find(record.user_id);
      if (!existing) throw err;
      return existing;
    }
  }
}
