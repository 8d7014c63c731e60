import type { Collection, Document, OptionalUnlessRequiredId } from 'mongodb';
import { isDuplicateKey } from './errors.js';

interface WriteErrorLike {
  index: number;
  code?: unknown;
  errmsg?: unknown;
}

/**
 * Inserts `docs` in one unordered command, each once by `_id`: returns the indexes of the
 * documents that were already stored (duplicate key). Any other write error is thrown; the
 * documents that did insert stay inserted, so a retry of the whole batch is safe.
 */
export async function insertManyOnce<T extends Document & { _id: string }>(collection: Collection<T>, docs: T[]): Promise<Set<number>> {
  const duplicates = new Set<number>();
  if (docs.length === 0) return duplicates;
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
  } catch (err) {
    const writeErrors = (err as { writeErrors?: WriteErrorLike[] | WriteErrorLike }).writeErrors;
    const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
    if (list.length === 0) throw err;
    for (const we of list) {
      if (!isDuplicateKey({ code: we.code, message: we.errmsg })) throw err;
      duplicates.add(we.index);
    }
  }
  return duplicates;
}
