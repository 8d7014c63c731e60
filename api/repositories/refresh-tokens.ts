import type { Collection, Db } from 'mongodb';
import { ensureExpiryIndex } from './expiry-index.js';

/** A stored refresh token: only the SHA-256 of the opaque `rt_…` value is kept. */
export interface RefreshTokenRecord {
  id: string;
  hash: string;
  family_id: string;
  user_id: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

type RefreshTokenDocument = Omit<RefreshTokenRecord, 'id'> & { _id: string };

function toRecord({ _id, ...rest }: RefreshTokenDocument): RefreshTokenRecord {
  return { id: _id, ...rest };
}

/** The `refresh_tokens` collection: rotation is one conditional update, revocation is per family or user. */
export class RefreshTokensRepository {
  readonly collection: Collection<RefreshTokenDocument>;

  constructor(db: Db) {
    this.collection = db.collection<RefreshTokenDocument>('refresh_tokens');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ hash: 1 }, { unique: true });
    await this.collection.createIndex({ family_id: 1 });
    await this.collection.createIndex({ user_id: 1 });
    await ensureExpiryIndex(this.collection, 'expires_at');
  }

  async insert(record: RefreshTokenRecord): Promise<void> {
    const { id, ...rest } = record;
    await this.collection.insertOne({ _id: id, ...rest });
  }

  /**
   * Atomically marks the live token with `hash` as used and returns it; null when no live
   * token matched (unknown, already used, revoked or expired). Of concurrent callers exactly
   * one gets the record.
   */
  async consume(hash: string, now: Date): Promise<RefreshTokenRecord | null> {
    const doc = await this.collection.findOneAndUpdate(
      { hash, used_at: null, revoked_at: null, expires_at: { $gt: now } },
      { $set: { used_at: now } },
      { returnDocument: 'after' },
    );
    return doc ? toRecord(doc) : null;
  }

  async findByHash(hash: string): Promise<RefreshTokenRecord | null> {
    const doc = await this.collection.findOne({ hash });
    return doc ? toRecord(doc) : null;
  }

  /** True when any token of the family has been revoked (the family is dead). */
  async isFamilyRevoked(familyId: string): Promise<boolean> {
    return (await this.collection.findOne({ family_id: familyId, revoked_at: { $ne: null } }, { projection: { _id: 1 } })) !== null;
  }

  /** Revokes every token of the family; returns how many were live. */
  async revokeFamily(familyId: string, now: Date): Promise<number> {
    const res = await this.collection.updateMany({ family_id: familyId, revoked_at: null }, { $set: { revoked_at: now } });
    return res.modifiedCount;
  }

  /** Revokes every token of the user, except the family `keepFamilyId` when given. */
  async revokeUser(userId: string, now: Date, keepFamilyId?: string): Promise<number> {
    const filter: Record<string, unknown> = { user_id: userId, revoked_at: null };
    if (keepFamilyId) filter['family_id'] = { $ne: keepFamilyId };
    const res = await this.collection.updateMany(filter, { $set: { revoked_at: now } });
    return res.modifiedCount;
  }
}
