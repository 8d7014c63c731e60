import type { Collection, Db } from 'mongodb';
import { ensureExpiryIndex } from './expiry-index.js';

/** What a one-time token is for. `mfa_login` is the short-lived second-factor challenge of a login. */
export type OneTimeTokenPurpose = 'verify_email' | 'password_reset' | 'email_change' | 'mfa_login';

/** A stored one-time token: only the SHA-256 of the value is kept. */
export interface OneTimeTokenRecord {
  id: string;
  hash: string;
  purpose: OneTimeTokenPurpose;
  user_id: string;
  /** Purpose-specific data, e.g. the address being verified or the new address of an email change. */
  data: Record<string, string>;
  attempts: number;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

type OneTimeTokenDocument = Omit<OneTimeTokenRecord, 'id'> & { _id: string };

function toRecord({ _id, ...rest }: OneTimeTokenDocument): OneTimeTokenRecord {
  return { id: _id, ...rest };
}

/** The `email_tokens` collection: single-use, expiring tokens (mail links and MFA challenges). */
export class EmailTokensRepository {
  readonly collection: Collection<OneTimeTokenDocument>;

  constructor(db: Db) {
    this.collection = db.collection<OneTimeTokenDocument>('email_tokens');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ hash: 1 }, { unique: true });
    await this.collection.createIndex({ user_id: 1, purpose: 1 });
    await ensureExpiryIndex(this.collection, 'expires_at');
  }

  async insert(record: OneTimeTokenRecord): Promise<void> {
    const { id, ...rest } = record;
    await this.collection.insertOne({ _id: id, ...rest });
  }

  /** Atomically uses the live token: returns it once, then null forever (also when expired or unknown). */
  async consume(hash: string, purpose: OneTimeTokenPurpose, now: Date, maxAttempts = Number.MAX_SAFE_INTEGER): Promise<OneTimeTokenRecord | null> {
    const doc = await this.collection.findOneAndUpdate(
      { hash, purpose, used_at: null, expires_at: { $gt: now }, attempts: { $lt: maxAttempts } },
      { $set: { used_at: now } },
      { returnDocument: 'after' },
    );
    return doc ? toRecord(doc) : null;
  }

  /** The live token without using it, or null. */
  async findLive(hash: string, purpose: OneTimeTokenPurpose, now: Date, maxAttempts = Number.MAX_SAFE_INTEGER): Promise<OneTimeTokenRecord | null> {
    const doc = await this.collection.findOne({ hash, purpose, used_at: null, expires_at: { $gt: now }, attempts: { $lt: maxAttempts } });
    return doc ? toRecord(doc) : null;
  }

  /** Counts a failed attempt against a live token; returns the new count (0 when it is no longer live). */
  async recordFailedAttempt(hash: string, purpose: OneTimeTokenPurpose): Promise<number> {
    const doc = await this.collection.findOneAndUpdate({ hash, purpose, used_at: null }, { $inc: { attempts: 1 } }, { returnDocument: 'after' });
    return doc?.attempts ?? 0;
  }

  /** Kills every live token of `purpose` for the user (e.g. older reset links when a new one is sent). */
  async invalidateForUser(userId: string, purpose: OneTimeTokenPurpose, now: Date): Promise<void> {
    await this.collection.updateMany({ user_id: userId, purpose, used_at: null }, { $set: { used_at: now } });
  }
}
