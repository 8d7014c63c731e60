import type { Collection, Db } from 'mongodb';

/** A card a user saved (attached to their Stripe Customer), as shown to them. */
export interface SavedPaymentMethod {
  /** Stripe's `pm_…`. */
  id: string;
  user_id: string;
  customer_id: string;
  brand: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
  created_at: Date;
}

type PaymentMethodDocument = Omit<SavedPaymentMethod, 'id'> & { _id: string };

function toMethod({ _id, ...rest }: PaymentMethodDocument): SavedPaymentMethod {
  return { id: _id, ...rest };
}

/** Most cards one principal may keep; a bound on the list and on Stripe work per user. */
export const MAX_SAVED_METHODS = 20;

/** The `payment_methods` collection: who saved which Stripe PaymentMethod. */
export class PaymentMethodsRepository {
  private readonly methods: Collection<PaymentMethodDocument>;

  constructor(db: Db) {
    this.methods = db.collection<PaymentMethodDocument>('payment_methods');
  }

  async ensureIndexes(): Promise<void> {
    await this.methods.createIndex({ user_id: 1, created_at: -1 });
  }

  /** Saves or refreshes the record (the same card attached again updates its details). */
  async upsert(method: SavedPaymentMethod): Promise<SavedPaymentMethod> {
    const { id, created_at, ...fields } = method;
    await this.methods.updateOne({ _id: id }, { $set: fields, $setOnInsert: { created_at } }, { upsert: true });
    return (await this.find(id)) ?? method;
  }

  async find(id: string): Promise<SavedPaymentMethod | null> {
    const doc = await this.methods.findOne({ _id: id });
    return doc ? toMethod(doc) : null;
  }

  async listByUser(userId: string): Promise<SavedPaymentMethod[]> {
    const docs = await this.methods.find({ user_id: userId }).sort({ created_at: -1, _id: 1 }).limit(MAX_SAVED_METHODS).toArray();
    return docs.map(toMethod);
  }

  async countByUser(userId: string): Promise<number> {
    return this.methods.countDocuments({ user_id: userId });
  }

  async delete(id: string, userId: string): Promise<boolean> {
    const result = await this.methods.deleteOne({ _id: id, user_id: userId });
    return result.deletedCount === 1;
  }
}
