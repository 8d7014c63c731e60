import { AppError } from '../../shared/errors/index.js';

/** True for a MongoDB/FerretDB duplicate-key error (code 11000). */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/** Runs `write`, turning a duplicate-key error into AppError `conflict` with `message`. */
export async function conflictOnDuplicate<T>(write: () => Promise<T>, message: string, details?: Record<string, string>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isDuplicateKey(err)) throw new AppError('conflict', { message, cause: err, ...(details ? { details } : {}) });
    throw err;
  }
}
