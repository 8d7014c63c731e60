import type { Collection, Db, Filter } from 'mongodb';
import {
  CachedCallStore, callFromDocument, MongoCallStore,
  type Call, type CallCacheFailure, type CallCacheWriter, type CallDocument, type CallStatus, type CallStore, type EndReason, type MediaUpOptions, type TransitionOptions, type TransitionResult,
} from '../../shared/calls/index.js';

/** History filters: the caller's calls as host or guest, optionally by status and creation time. */
export interface CallHistoryQuery {
  participantId: string;
  status?: CallStatus;
  from?: Date;
  to?: Date;
  skip: number;
  limit: number;
}

/**
 * The `calls` collection for the API: the shared MongoCallStore (creation and the atomic state
 * transitions the signal tier uses too) plus the read queries only the API needs. With a call
 * cache, every call created, moved or read is written to it before the method returns (the
 * signal tier's joins read it: see `CachedCallStore`).
 */
export class CallsRepository implements CallStore {
  private readonly mongo: MongoCallStore;
  private readonly store: CallStore;
  private readonly calls: Collection<CallDocument>;

  constructor(db: Db, cache?: { writer: CallCacheWriter; onFailure: CallCacheFailure }) {
    this.mongo = new MongoCallStore(db);
    this.store = cache ? new CachedCallStore(this.mongo, cache.writer, { onFailure: cache.onFailure }) : this.mongo;
    this.calls = db.collection<CallDocument>('calls');
  }

  async ensureIndexes(): Promise<void> {
    await this.mongo.ensureIndexes();
    await this.calls.createIndex({ host_id: 1, status: 1 });
  }

  create(call: Call): Promise<Call> {
    return this.store.create(call);
  }

  get(id: string): Promise<Call | null> {
    return this.store.get(id);
  }

  transition(id: string, to: CallStatus, options?: TransitionOptions): Promise<TransitionResult> {
    return this.store.transition(id, to, options);
  }

  markMediaUp(id: string, options: MediaUpOptions): Promise<TransitionResult> {
    return this.store.markMediaUp(id, options);
  }

  findStaleRinging(before: Date, limit: number): Promise<Call[]> {
    return this.store.findStaleRinging(before, limit);
  }

  /** One page of a participant's calls, newest first, with the total. */
  async history(query: CallHistoryQuery): Promise<{ items: Call[]; total: number }> {
    const filter: Filter<CallDocument> = { $or: [{ host_id: query.participantId }, { guest_id: query.participantId }] };
    if (query.status) filter.status = query.status;
    if (query.from || query.to) {
      filter.created_at = { ...(query.from ? { $gte: query.from } : {}), ...(query.to ? { $lt: query.to } : {}) };
    }
    const [docs, total] = await Promise.all([
      this.calls.find(filter).sort({ created_at: -1, _id: -1 }).skip(query.skip).limit(query.limit).toArray(),
      this.calls.countDocuments(filter),
    ]);
    return { items: docs.map(callFromDocument), total };
  }

  /** The call that keeps the host busy (active, or being made active), or null; see MongoCallStore. */
  hostBusyWith(hostId: string): Promise<string | null> {
    return this.mongo.hostBusyWith(hostId);
  }

  /** Number of calls made through each of `linkIds`. */
  async countByLinks(linkIds: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (linkIds.length === 0) return counts;
    const rows = await this.calls.aggregate<{ _id: string; n: number }>([
      { $match: { link_id: { $in: linkIds } } },
      { $group: { _id: '$link_id', n: { $sum: 1 } } },
    ]).toArray();
    for (const row of rows) counts.set(row._id, row.n);
    return counts;
  }
}
