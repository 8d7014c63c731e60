import type { Collection, Db, Filter } from 'mongodb';
import { isDuplicateKey } from './errors.js';

export type PayoutStatus = 'pending' | 'paid' | 'failed';

/** A host's request to move available earnings to their Connect account. */
export interface Payout {
  id: string;
  host_id: string;
  /** The X-Idempotency-Key of the request that created it; unique per host. */
  request_key: string;
  account_id: string;
  amount_minor: number;
  currency: string;
  status: PayoutStatus;
  /** Stripe Transfer `tr_…` once made. */
  transfer_id: string | null;
  failure_code: string | null;
  created_at: Date;
  updated_at: Date;
}

type PayoutDocument = Omit<Payout, 'id'> & { _id: string };
interface PayoutLock { _id: string; expires_at: Date }

function toPayout({ _id, ...rest }: PayoutDocument): Payout {
  return { id: _id, ...rest };
}

/**
 * The `payouts` collection (one document per payout, unique per host and request key) and
 * `payout_locks`, a per-host-and-currency mutex (unique `_id` insert, expiring) that keeps two
 * concurrent payouts from both spending the same available balance.
 */
export class PayoutsRepository {
  private readonly payouts: Collection<PayoutDocument>;
  private readonly locks: Collection<PayoutLock>;

  constructor(db: Db) {
    this.payouts = db.collection<PayoutDocument>('payouts');
    this.locks = db.collection<PayoutLock>('payout_locks');
  }

  async ensureIndexes(): Promise<void> {
    await this.payouts.createIndex({ host_id: 1, request_key: 1 }, { unique: true });
    await this.payouts.createIndex({ host_id: 1, created_at: -1 });
    await this.payouts.createIndex({ transfer_id: 1 });
  }

  /** Inserts the payout, or returns the one the same request already created. */
  async insertOrGet(payout: Payout): Promise<{ created: boolean; payout: Payout }> {
    const { id, ...rest } = payout;
    try {
      await this.payouts.insertOne({ _id: id, ...rest });
      return { created: true, payout };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.payouts.findOne({ host_id: payout.host_id, request_key: payout.request_key });
      if (!existing) throw err;
      return { created: false, payout: toPayout(existing) };
    }
  }

  async findByRequest(hostId: string, requestKey: string): Promise<Payout | null> {
    const doc = await this.payouts.findOne({ host_id: hostId, request_key: requestKey });
    return doc ? toPayout(doc) : null;
  }

  async findById(id: string): Promise<Payout | null> {
    const doc = await this.payouts.findOne({ _id: id });
    return doc ? toPayout(doc) : null;
  }

  /** Moves a `pending` payout to a final state; false when it was final already. */
  async settle(id: string, status: Exclude<PayoutStatus, 'pending'>, fields: { transfer_id?: string; failure_code?: string }, now: Date): Promise<boolean> {
    const result = await this.payouts.updateOne({ _id: id, status: 'pending' }, { $set: { status, ...fields, updated_at: now } });
    return result.modifiedCount === 1;
  }

  async list(hostId: string, filter: { status?: PayoutStatus }, skip: number, limit: number): Promise<{ items: Payout[]; total: number }> {
    const query: Filter<PayoutDocument> = { host_id: hostId, ...(filter.status ? { status: filter.status } : {}) };
    const [docs, total] = await Promise.all([
      this.payouts.find(query).sort({ created_at: -1, _id: -1 }).skip(skip).limit(limit).toArray(),
      this.payouts.countDocuments(query),
    ]);
    return { items: docs.map(toPayout), total };
  }

  /** Takes the host's payout lock for `ttlMs`; false when another request holds it. */
  async lock(key: string, now: Date, ttlMs: number): Promise<boolean> {
    const doc = { _id: key, expires_at: new Date(now.getTime() + ttlMs) };
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await this.locks.insertOne(doc);
        return true;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const removed = await this.locks.deleteOne({ _id: key, expires_at: { $lt: now } });
      if (removed.deletedCount !== 1) return false;
    }
    return false;
  }

  async unlock(key: string): Promise<void> {
    await this.locks.deleteOne({ _id: key });
  }
}
