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
