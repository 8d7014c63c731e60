import type { Collection, Db } from 'mongodb';
import { AppError } from '../errors/index.js';
import type { Call } from './call.js';
import type { CallStore, TransitionResult } from './call-store.js';
import { canTransition, reasonFor, sourcesOf, timestampFieldOf, type CallStatus, type EndReason } from './state-machine.js';

type CallDocument = Omit<Call, 'id'> & { _id: string };

function toCall({ _id, ...rest }: CallDocument): Call {
  return { id: _id, ...rest };
}

/**
 * CallStore on the `calls` collection. Lives in `shared/` because both tiers must apply the
 * same atomic transitions (the signal tier when both peers join, the api on `/end`).
 * Uses only single-document `findOneAndUpdate`, which MongoDB and FerretDB both make atomic.
 */
export class MongoCallStore implements CallStore {
  private readonly calls: Collection<CallDocument>;

  constructor(db: Db) {
    this.calls = db.collection<CallDocument>('calls');
  }

  /** Creates the indexes this store relies on; safe to call at every start. */
  async ensureIndexes(): Promise<void> {
    await this.calls.createIndex({ host_id: 1, created_at: -1 });
    await this.calls.createIndex({ guest_id: 1, created_at: -1 });
    await this.calls.createIndex({ status: 1, created_at: 1 });
    await this.calls.createIndex({ link_id: 1 });
  }

  async create(call: Call): Promise<Call> {
    const { id, ...rest } = call;
    await this.calls.insertOne({ _id: id, ...rest });
    return call;
  }

  async get(id: string): Promise<Call | null> {
    const doc = await this.calls.findOne({ _id: id });
    return doc ? toCall(doc) : null;
  }

  async transition(id: string, to: CallStatus, options: { reason?: EndReason; at?: Date } = {}): Promise<TransitionResult> {
    const at = options.at ?? new Date();
    const reason = reasonFor(to, options.reason);
    const field = timestampFieldOf(to);
    const set: Partial<CallDocument> = { status: to, updated_at: at, ...(reason ? { end_reason: reason } : {}), ...(field ? { [field]: at } : {}) };
    const updated = await this.calls.findOneAndUpdate(
      { _id: id, status: { $in: sourcesOf(to) } },
      { $set: set, $inc: { version: 1 } },
      { returnDocument: 'after' },
    );
    if (updated) return { call: toCall(updated), changed: true };
    const current = await this.get(id);
    if (!current) throw new AppError('not_found', { message: 'Call not found.' });
    if (current.status === to) return { call: current, changed: false };
    if (!canTransition(current.status, to)) {
      throw new AppError('conflict', { message: `Call is ${current.status}; it cannot become ${to}.`, details: { status: current.status } });
    }
    // The status moved between our update and our read; the caller may retry.
    throw new AppError('conflict', { message: 'Call changed concurrently; retry.', details: { status: current.status } });
  }

  async findStaleRinging(before: Date, limit: number): Promise<Call[]> {
    const docs = await this.calls.find({ status: { $in: ['waiting', 'ringing'] }, created_at: { $lt: before } }).limit(limit).toArray();
    return docs.map(toCall);
  }
}
