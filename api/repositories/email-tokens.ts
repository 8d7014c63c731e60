import type { Collection, Db } from 'mongodb';
import { ensureExpiryIndex } from './expiry-index.js';

/** What a one-time token is for. `mfa_login` is the short-lived second-factor challenge of a login. */
export type OneTimeTokenPurpose = 'verify_email' | 'password_reset' | 'email_change' | 'mfa_login';

/** A stored one-time token: keyed by the SHA-256 of the value, never the value. */
export interface OneTimeTokenRecord {
  hash: string;
  purpose: OneTimeTokenPurpose;
  user_id: string;
  /** Purpose-specific data, e.g. the address being verified or the new address of an email change. */
  data: Record<string, string>;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

type OneTimeTokenDocument = Omit<OneTimeTokenRecord, 'hash'> & { _id: string };

function toRecord({ _id, ...rest }: OneTimeTokenDocument): OneTimeTokenRecord {
  return { hash: _id, ...rest };
}

/** The `email_tokens` collection: mail-link tokens and MFA challenges (single use is enforced by claims). */
export class EmailTokensRepository {
  readonly collection: Collection<OneTimeTokenDocument>;

  constructor(db: Db) {
    this.collection = db.collection<OneTimeTokenDocument>('email_tokens');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ user_id: 1, purpose: 1 });
    await ensureExpiryIndex(this.collection, 'expires_at');
  }

  async insert(record: OneTimeTokenRecord): Promise<void> {
    const { hash, ...rest } = record;
    await this.collection.insertOne({ _id: hash, ...rest });
  }

  /** The token when it exists for `purpose`, is unused and has not expired at `now`. */
  async findLive(hash: string, purpose: OneTimeTokenPurpose, now: Date): Promise<OneTimeTokenRecord | null> {
    const doc = await this.collection.findOne({ _id: hash });
    if (!doc || doc.purpose !== purpose || doc.used_at !== null || doc.expires_at <= now) return null;
    return toRecord(doc);
  }

  async markUsed(hash: string, now: Date): Promise<void> {
    await this.collection.updateOne({ _id: hash }, { $set: { used_at: now } });
  }

  /** Kills every live token of `purpose` for the user (e.g. older reset links when a new one is sent). */
  async invalidateForUser(userId: string, purpose: OneTimeTokenPurpose, now: Date): Promise<void> {
    await this.collection.updateMany({ user_id: userId, purpose, used_at: null }, { $set: { used_at: now } });
  }
}
