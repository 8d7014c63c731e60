import type { Collection, Db } from 'mongodb';
import { ensureExpiryIndex } from './expiry-index.js';

/** A stored refresh token: keyed by the SHA-256 of the opaque `rt_…` value, never the value. */
export interface RefreshTokenRecord {
  hash: string;
  family_id: string;
  user_id: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

type RefreshTokenDocument = Omit<RefreshTokenRecord, 'hash'> & { _id: string };

function toRecord({ _id, ...rest }: RefreshTokenDocument): RefreshTokenRecord {
  return { hash: _id, ...rest };
}

/**
 * The `refresh_tokens` collection. Bookkeeping only: which caller wins a rotation and whether a
 * family is revoked are decided by claims (auth-claims.ts), not by conditional updates here.
 */
export class RefreshTokensRepository {
  readonly collection: Collection<RefreshTokenDocument>;

  constructor(db: Db) {
    this.collection = db.collection<RefreshTokenDocument>('refresh_tokens');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ family_id: 1 });
    await this.collection.createIndex({ user_id: 1 });
    await ensureExpiryIndex(this.collection, 'expires_at');
  }

  async insert(record: RefreshTokenRecord): Promise<void> {
    const { hash, ...rest } = record;
    await this.collection.insertOne({ _id: hash, ...rest });
  }

  async findByHash(hash: string): Promise<RefreshTokenRecord | null> {
    const doc = await this.collection.findOne({ _id: hash });
    return doc ? toRecord(doc) : null;
  }

  async markUsed(hash: string, now: Date): Promise<void> {
    await this.collection.updateOne({ _id: hash }, { $set: { used_at: now } });
  }

  /** Marks every live token of the family revoked; returns how many. */
  async revokeFamily(familyId: string, now: Date): Promise<number> {
    const res = await this.collection.updateMany({ family_id: familyId, revoked_at: null }, { $set: { revoked_at: now } });
    return res.modifiedCount;
  }

  /** The families of the user that still have an unrevoked token, except `keepFamilyId`. */
  async liveFamilies(userId: string, keepFamilyId?: string): Promise<string[]> {
    const docs = await this.collection.find({ user_id: userId, revoked_at: null }, { projection: { family_id: 1 } }).toArray();
    return [...new Set(docs.map((d) => d.family_id))].filter((f) => f !== keepFamilyId);
  }
}
