import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './errors.js';

export type BroadcastStatus = 'queued' | 'running' | 'done';

/** A host's message to every follower, sent by a background job. */
export interface Broadcast {
  id: string;
  host_id: string;
  idempotency_key: string;
  /** sha256 of the request body: the same key with another body is a conflict. */
  body_hash: string;
  text: string;
  status: BroadcastStatus;
  /** Followers when the broadcast was accepted. */
  total: number;
  sent: number;
  /** Followers skipped (a block either way). */
  skipped: number;
  /** Highest follower id handled; the job resumes above it. */
  cursor: string;
  lease_until: Date;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

type BroadcastDocument = Omit<Broadcast, 'id'> & { _id: string };
const toBroadcast = ({ _id, ...rest }: BroadcastDocument): Broadcast => ({ id: _id, ...rest });

/** The `broadcasts` collection: unique (host, idempotency key); leases for the job. */
export class BroadcastsRepository {
  private readonly collection: Collection<BroadcastDocument>;

  constructor(db: Db) {
    this.collection = db.collection<BroadcastDocument>('broadcasts');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ host_id: 1, idempotency_key: 1 }, { unique: true });
    await this.collection.createIndex({ status: 1, lease_until: 1 });
  }

  /** Inserts `broadcast`, or returns the one already stored under its (host, key). */
  async createOnce(broadcast: Broadcast): Promise<{ broadcast: Broadcast; created: boolean }> {
    const { id, ...rest } = broadcast;
    try {
      await this.collection.insertOne({ _id: id, ...rest });
      return { broadcast, created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.collection.findOne({ host_id: broadcast.host_id, idempotency_key: broadcast.idempotency_key });
      if (!existing) throw err;
      return { broadcast: toBroadcast(existing), created: false };
    }
  }

  async get(id: string): Promise<Broadcast | null> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? toBroadcast(doc) : null;
  }

  /**
   * Takes the lease of one unfinished broadcast whose lease has run out. FerretDB 1.x updates are
   * not atomic, so two API copies may both take one; every send is idempotent (client id
   * `bc:<broadcast id>`), so that costs work, never a duplicate message.
   */
  async claim(now: Date, leaseMs: number): Promise<Broadcast | null> {
    const doc = await this.collection.findOneAndUpdate(
      { status: { $in: ['queued', 'running'] }, lease_until: { $lte: now } },
      { $set: { status: 'running', lease_until: new Date(now.getTime() + leaseMs), updated_at: now } },
      { returnDocument: 'after', sort: { created_at: 1 } },
    );
    return doc ? toBroadcast(doc) : null;
  }

  async progress(id: string, fields: { cursor: string; sent: number; skipped: number; lease_until: Date; updated_at: Date }): Promise<void> {
    await this.collection.updateOne({ _id: id }, { $set: fields });
  }

  async finish(id: string, at: Date): Promise<void> {
    await this.collection.updateOne({ _id: id }, { $set: { status: 'done', finished_at: at, updated_at: at } });
  }
}
