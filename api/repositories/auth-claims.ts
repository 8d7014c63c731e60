import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './errors.js';
import { ensureExpiryIndex } from './expiry-index.js';

interface ClaimDocument {
  _id: string;
  at: Date;
  expires_at?: Date;
}

/**
 * The `auth_claims` collection: "first one wins" markers keyed by `_id`. An insert into a unique
 * key is the one write that is atomic under concurrency on MongoDB and on FerretDB alike
 * (FerretDB 1.x runs `findOneAndUpdate` as read-then-write, so two callers can both "win" it).
 * Used for refresh rotation, single-use tokens, TOTP steps, backup codes, MFA attempts and
 * revoked token families.
 */
export class AuthClaimsRepository {
  readonly collection: Collection<ClaimDocument>;

  constructor(db: Db) {
    this.collection = db.collection<ClaimDocument>('auth_claims');
  }

  async ensureIndexes(): Promise<void> {
    await ensureExpiryIndex(this.collection, 'expires_at');
  }

  /** True for exactly one caller per `key` (until the claim expires); false when already claimed. */
  async claim(key: string, expiresAt?: Date): Promise<boolean> {
    try {
      await this.collection.insertOne({ _id: key, at: new Date(), ...(expiresAt ? { expires_at: expiresAt } : {}) });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** True when `key` has been claimed. */
  async exists(key: string): Promise<boolean> {
    return (await this.collection.findOne({ _id: key }, { projection: { _id: 1 } })) !== null;
  }
}
