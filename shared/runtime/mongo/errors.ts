/**
 * True for a unique-index violation: MongoDB's code 11000, or FerretDB 1.24's code 1
 * "UNIQUE constraint failed" (what it reports for a violation inside an update).
 */
export function isDuplicateKey(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === 11000 || (code === 1 && /UNIQUE constraint failed/.test(String(message ?? '')));
}
