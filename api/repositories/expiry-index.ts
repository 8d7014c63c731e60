import type { Collection, Document } from 'mongodb';

/**
 * Indexes `field` (a Date) with a TTL so expired documents are deleted by MongoDB. FerretDB 1.x
 * does not implement TTL indexes: there a plain index is created and expired documents stay
 * until purged; readers always check expiry themselves.
 */
export async function ensureExpiryIndex<T extends Document>(collection: Collection<T>, field: string): Promise<void> {
  try {
    await collection.createIndex({ [field]: 1 }, { expireAfterSeconds: 0 });
  } catch (err) {
    if (!/not implemented/i.test((err as Error).message ?? '')) throw err;
    await collection.createIndex({ [field]: 1 });
  }
}
