import {
  MongoNetworkError, MongoNotConnectedError, MongoOperationTimeoutError, MongoServerClosedError,
  MongoServerSelectionError, MongoTopologyClosedError,
} from 'mongodb';

/**
 * True for a unique-index violation: MongoDB's code 11000, or what FerretDB 1.24 reports for a
 * violation inside an update (code 1 with the backend's message: SQLite "UNIQUE constraint
 * failed", PostgreSQL SQLSTATE 23505).
 */
export function isDuplicateKey(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === 11000 || (code === 1 && /UNIQUE constraint failed|SQLSTATE 23505/.test(String(message ?? '')));
}

/** Driver errors that mean "no database answered in time", by name (also when thrown by another copy of the driver). */
const UNAVAILABLE_NAMES = new Set([
  'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoServerSelectionError', 'MongoTopologyClosedError',
  'MongoNotConnectedError', 'MongoOperationTimeoutError', 'MongoServerClosedError', 'MongoPoolClearedError',
  'PoolClearedOnNetworkError', 'MongoPoolClosedError', 'MongoWaitQueueTimeoutError', 'StorageTimeoutError',
]);

/**
 * True when `err` says the database is unreachable or did not answer in time (stopped, killed,
 * network down), as opposed to a refused or invalid operation: the request may succeed later,
 * so the edges answer `service_unavailable`.
 */
export function isStorageUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError || err instanceof MongoTopologyClosedError
    || err instanceof MongoNotConnectedError || err instanceof MongoOperationTimeoutError || err instanceof MongoServerClosedError) return true;
  return UNAVAILABLE_NAMES.has(String((err as { name?: unknown }).name));
}

/** A storage operation that did not settle within its deadline (see `withStorageDeadline`). */
export class StorageTimeoutError extends Error {
  override readonly name = 'StorageTimeoutError';

  constructor(operation: string, readonly deadlineMs: number) {
    super(`storage did not answer ${operation} within ${deadlineMs} ms`);
  }
}

/**
 * `work`, or a StorageTimeoutError once `deadlineMs` has passed. The operation itself is not
 * cancelled (the driver cannot cancel it): it may still complete, so only idempotent or
 * retry-safe operations belong behind a deadline.
 */
export function withStorageDeadline<T>(work: Promise<T>, deadlineMs: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageTimeoutError(operation, deadlineMs)), deadlineMs);
  });
  work.catch(() => undefined);
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * For an unordered `insertMany` that failed: the indexes of the documents refused by a unique
 * index, when that is the only kind of failure; undefined otherwise (rethrow then).
 */
export function duplicateIndexes(err: unknown): Set<number> | undefined {
  const writeErrors = (err as { writeErrors?: unknown } | null)?.writeErrors;
  type WriteError = { index: number; code?: number; errmsg?: string };
  const list: WriteError[] = Array.isArray(writeErrors) ? writeErrors as WriteError[] : writeErrors ? [writeErrors as WriteError] : [];
  if (list.length === 0 || !list.every((e) => isDuplicateKey({ code: e.code, message: e.errmsg }))) return undefined;
  return new Set(list.map((e) => e.index));
}
