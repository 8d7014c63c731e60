import type { Collection, Db } from 'mongodb';
import type { BeginResult, IdempotencyStore, StoredResponse } from '../ports/idempotency-store.js';
import { isDuplicateKey } from './errors.js';
import { ensureExpiryIndex } from './expiry-index.js';

interface IdempotencyDocument {
  _id: string;
  user_id: string;
  key: string;
  request_hash: string;
  state: 'running' | 'done';
  /** Status and the body as JSON text (stored as text: a body's keys are not field names to check). */
  response: { status: number; body_json: string } | null;
  lease_until: Date;
  created_at: Date;
  expires_at: Date;
}

const idOf = (userId: string, key: string): string => `${userId}:${key}`;


/**
 * The `idempotency_keys` collection. `begin` is an insert on a unique `_id` (one winner), or a
 * conditional replace of a record that expired or whose lease ran out (again one winner).
 */
export class IdempotencyKeysRepository implements IdempotencyStore {
  readonly collection: Collection<IdempotencyDocument>;

  constructor(db: Db) {
    this.collection = db.collection<IdempotencyDocument>('idempotency_keys');
  }

  async ensureIndexes(): Promise<void> {
    await ensureExpiryIndex(this.collection, 'expires_at');
  }

  async begin(input: { userId: string; key: string; requestHash: string; now: Date; leaseMs: number; ttlMs: number }): Promise<BeginResult> {
    const fresh: IdempotencyDocument = {
      _id: idOf(input.userId, input.key), user_id: input.userId, key: input.key, request_hash: input.requestHash,
      state: 'running', response: null, lease_until: new Date(input.now.getTime() + input.leaseMs),
      created_at: input.now, expires_at: new Date(input.now.getTime() + input.ttlMs),
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.collection.insertOne(fresh);
        return { state: 'started' };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const existing = await this.collection.findOne({ _id: fresh._id });
      if (!existing) continue;
      const expired = existing.expires_at <= input.now;
      const abandoned = existing.state === 'running' && existing.lease_until <= input.now && existing.request_hash === input.requestHash;
      if (expired || abandoned) {
        const taken = await this.collection.findOneAndReplace(
          { _id: fresh._id, state: existing.state, lease_until: existing.lease_until, expires_at: existing.expires_at },
          fresh, { returnDocument: 'after' },
        );
        if (taken) return { state: 'started' };
        continue;
      }
      if (existing.state === 'done' && existing.response) {
        return { state: 'replay', requestHash: existing.request_hash, response: { status: existing.response.status, body: JSON.parse(existing.response.body_json) as unknown } };
      }
      return { state: 'in_progress', requestHash: existing.request_hash };
    }
    return { state: 'in_progress', requestHash: input.requestHash };
  }

  async complete(userId: string, key: string, response: StoredResponse, _now: Date): Promise<void> {
    await this.collection.updateOne({ _id: idOf(userId, key), state: 'running' }, { $set: { state: 'done', response: { status: response.status, body_json: JSON.stringify(response.body ?? null) } } });
  }

  async abandon(userId: string, key: string): Promise<void> {
    await this.collection.deleteOne({ _id: idOf(userId, key), state: 'running' });
  }
}
