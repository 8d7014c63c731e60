import { isStorageUnavailable } from './mongo/errors.js';

/** ioredis failures that mean "Redis is unreachable or did not answer", by name or message (its errors carry no codes). */
const REDIS_UNAVAILABLE = /^(Connection is closed\.|Command timed out|Stream isn't writeable|Reached the max retries per request limit)/;
/** Socket errors of an unreachable peer. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN']);

/**
 * True when `err` says a dependency the request needed (MongoDB storage, Redis) is down or did
 * not answer in time, rather than that the request was wrong: the edges answer 503
 * `service_unavailable` (the REST API with `Retry-After`), never 500.
 */
export function isDependencyUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (isStorageUnavailable(err)) return true;
  const { name, message, code } = err as { name?: unknown; message?: unknown; code?: unknown };
  if (name === 'MaxRetriesPerRequestError') return true;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return REDIS_UNAVAILABLE.test(String(message ?? ''));
}
