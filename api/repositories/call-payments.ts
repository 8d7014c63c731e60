import type { Collection, Db, Filter } from 'mongodb';
import { updateEach } from '../../shared/runtime/mongo/update-each.js';

/**
 * `placing`: the hold is being placed (no call yet); `held`: the call runs on the hold;
 * `failed`: the hold could not be placed (no call); `settling`: the call is over and captures /
 * releases are in progress (retried until done); `settled`: done.
 */
export type PaymentState = 'placing' | 'held' | 'failed' | 'settling' | 'settled';

/** How one PaymentIntent of a payment ended. */
export interface IntentOutcome {
  pi: string;
  outcome: 'captured' | 'canceled' | 'failed';
  amount_minor: number;
}

/** One call's money: its holds (payment_holds), billed minutes and settlement progress. */
export interface CallPayment {
  id: string;
  call_id: string;
  guest_id: string;
  host_id: string;
  currency: string;
  rate_minor: number;
  fee_bps: number;
  payment_method: string;
  /** Stripe customer of a saved card (a further hold on the same card needs it); null for a one-off card. */
  customer: string | null;
  state: PaymentState;
  /** The hold could not be extended any more. */
  exhausted: boolean;
  /** Minutes left on the hold (floor(authorized / rate) − billed); updated as minutes apply. */
  paid_minutes_left: number;
  /** Filled at settlement. */
  billed_minutes: number;
  billed_minor: number;
  net_minor: number;
  captured_minor: number;
  written_off_minor: number;
  intents: IntentOutcome[];
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  settled_at: Date | null;
  /** When the host's earning was released to `available`. */
  released_at: Date | null;
}

type PaymentDocument = Omit<CallPayment, 'id'> & { _id: string };

function toPayment({ _id, ...rest }: PaymentDocument): CallPayment {
  return { id: _id, ...rest };
}

/** The `payments` collection: one document per paid call. */
export class CallPaymentsRepository {
  readonly collection: Collection<PaymentDocument>;

  constructor(db: Db) {
    this.collection = db.collection<PaymentDocument>('payments');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ call_id: 1 }, { unique: true });
    await this.collection.createIndex({ state: 1, next_attempt_at: 1 });
    await this.collection.createIndex({ guest_id: 1, created_at: -1 });
    await this.collection.createIndex({ host_id: 1, created_at: -1 });
  }

  async insert(payment: CallPayment): Promise<void> {
    const { id, ...rest } = payment;
    await this.collection.insertOne({ _id: id, ...rest });
  }

  async get(id: string): Promise<CallPayment | null> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? toPayment(doc) : null;
  }

  async byCall(callId: string): Promise<CallPayment | null> {
    const doc = await this.collection.findOne({ call_id: callId });
    return doc ? toPayment(doc) : null;
  }

  /** Sets fields, only while the payment is in one of `states` (when given); true when it matched. */
  async update(id: string, set: Partial<Omit<CallPayment, 'id'>>, states?: PaymentState[]): Promise<boolean> {
    const filter: Filter<PaymentDocument> = { _id: id };
    if (states) filter.state = { $in: states };
    const result = await this.collection.updateOne(filter, { $set: set });
    return result.matchedCount > 0;
  }

  /** Sets fields of many payments (no state condition), a few at a time. */
  async updateMany(changes: Array<{ id: string; set: Partial<Omit<CallPayment, 'id'>> }>): Promise<void> {
    await updateEach(changes, ({ id, set }) => this.update(id, set));
  }

  /** Payments in `states` whose next check is due, oldest due first. */
  async due(states: PaymentState[], now: Date, limit: number): Promise<CallPayment[]> {
    const docs = await this.collection.find({ state: { $in: states }, next_attempt_at: { $lte: now } }).sort({ next_attempt_at: 1 }).limit(limit).toArray();
    return docs.map(toPayment);
  }

  /** Settled payments whose host earning is still pending and was settled before `before`. */
  async unreleased(before: Date, limit: number): Promise<CallPayment[]> {
    const docs = await this.collection.find({ state: 'settled', released_at: null, settled_at: { $lte: before } }).limit(limit).toArray();
    return docs.map(toPayment);
  }
}
