import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './errors.js';

/**
 * One authorization step of a payment: the initial hold (k = 0), an incremental authorization
 * of the same PaymentIntent, or a further PaymentIntent. `_id` = `<paymentId>:<k>`: a step is
 * recorded once, whoever retries it.
 */
export interface PaymentHold {
  payment_id: string;
  k: number;
  pi: string;
  kind: 'initial' | 'increment' | 'additional';
  /** Amount this step added to the authorization. */
  amount_minor: number;
  created_at: Date;
}

type HoldDocument = PaymentHold & { _id: string };

/** The `payment_holds` collection. */
export class PaymentHoldsRepository {
  readonly collection: Collection<HoldDocument>;

  constructor(db: Db) {
    this.collection = db.collection<HoldDocument>('payment_holds');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ payment_id: 1, k: 1 });
    await this.collection.createIndex({ pi: 1 });
  }

  /** Records the step unless recorded already. */
  async record(hold: PaymentHold): Promise<void> {
    try {
      await this.collection.insertOne({ _id: `${hold.payment_id}:${hold.k}`, ...hold });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  /** The payment a PaymentIntent belongs to. */
  async paymentOf(pi: string): Promise<string | null> {
    return (await this.collection.findOne({ pi }))?.payment_id ?? null;
  }

  async of(paymentId: string): Promise<PaymentHold[]> {
    const docs = await this.collection.find({ payment_id: paymentId }).sort({ k: 1 }).toArray();
    return docs.map(({ _id, ...rest }) => rest);
  }
}

/** Authorized amount per PaymentIntent, in the order the intents were created. */
export function authorizedByIntent(holds: PaymentHold[]): Array<{ pi: string; amount_minor: number }> {
  const out: Array<{ pi: string; amount_minor: number }> = [];
  for (const hold of [...holds].sort((a, b) => a.k - b.k)) {
    const entry = out.find((e) => e.pi === hold.pi);
    if (entry) entry.amount_minor += hold.amount_minor;
    else out.push({ pi: hold.pi, amount_minor: hold.amount_minor });
  }
  return out;
}
