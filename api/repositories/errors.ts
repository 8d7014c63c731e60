import { AppError } from '../../shared/errors/index.js';
import { isDuplicateKey } from '../../shared/runtime/mongo/errors.js';

export { isDuplicateKey };

/** Runs `write`, turning a duplicate-key error into AppError `conflict` with `message`. */
export async function conflictOnDuplicate<T>(write: () => Promise<T>, message: string, details?: Record<string, string>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isDuplicateKey(err)) throw new AppError('conflict', { message, cause: err, ...(details ? { details } : {}) });
    throw err;
  }
}
