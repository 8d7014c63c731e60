// The idempotency-key store contract: the HTTP middleware (api/http/idempotency.ts) uses it, the
// repository (api/repositories/idempotency-keys.ts) implements it; ports import neither.

/** A stored response to replay. */
export interface StoredResponse {
  status: number;
  body: unknown;
}

/** What `begin` found for (user, key). */
export type BeginResult =
  | { state: 'started' }
  | { state: 'replay'; requestHash: string; response: StoredResponse }
  | { state: 'in_progress'; requestHash: string };

/**
 * Storage of idempotency records, one per (user, key), kept `ttlMs`. Implementations make
 * `begin` atomic: of two concurrent calls for the same key exactly one gets `started` (or takes
 * over a record whose lease ran out, i.e. whose request died mid-way).
 */
export interface IdempotencyStore {
  begin(input: { userId: string; key: string; requestHash: string; now: Date; leaseMs: number; ttlMs: number }): Promise<BeginResult>;
  /** Stores the response of a started request. */
  complete(userId: string, key: string, response: StoredResponse, now: Date): Promise<void>;
  /** Forgets a started request that failed in a way a retry may fix (5xx). */
  abandon(userId: string, key: string): Promise<void>;
}
