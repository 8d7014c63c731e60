import type { Collection, Db } from 'mongodb';
import { ensureExpiryIndex } from './expiry-index.js';

/** An unauthenticated caller's session (`gs_…`); its access token lives as long as the session. */
export interface GuestSession {
  id: string;
  display_name: string | null;
  ip: string;
  created_at: Date;
  expires_at: Date;
}

type GuestSessionDocument = Omit<GuestSession, 'id'> & { _id: string };

/** The `guest_sessions` collection. */
export class GuestSessionsRepository {
  readonly collection: Collection<GuestSessionDocument>;

  constructor(db: Db) {
    this.collection = db.collection<GuestSessionDocument>('guest_sessions');
  }

  async ensureIndexes(): Promise<void> {
    await ensureExpiryIndex(this.collection, 'expires_at');
  }

  async create(session: GuestSession): Promise<GuestSession> {
    const { id, ...rest } = session;
    await this.collection.insertOne({ _id: id, ...rest });
    return session;
  }

  /** The session when it exists and has not expired. */
  async findLive(id: string, now = new Date()): Promise<GuestSession | null> {
    const doc = await this.collection.findOne({ _id: id, expires_at: { $gt: now } });
    if (!doc) return null;
    const { _id, ...rest } = doc;
    return { id: _id, ...rest };
  }
}
