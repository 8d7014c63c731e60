import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './errors.js';

/** A host's shareable call link as stored in `call_links`. */
export interface CallLink {
  id: string;
  short_code: string;
  host_id: string;
  title: string | null;
  /** Per-link price override in minor units; null → the host's rate at join time. */
  rate: { amount: number; currency: string } | null;
  max_duration_sec: number | null;
  expires_at: Date | null;
  single_use: boolean;
  /** Soft delete: set once, never cleared. */
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

type CallLinkDocument = Omit<CallLink, 'id'> & { _id: string };

/** The one join a single-use link allows; `_id` is the link id, so a second insert fails. */
interface SingleUseClaim { _id: string; at: Date }

function toLink({ _id, ...rest }: CallLinkDocument): CallLink {
  return { id: _id, ...rest };
}

/** Thrown by `create` when the short code is already taken (the caller draws another). */
export class ShortCodeTaken extends Error {
  constructor() {
    super('short code taken');
    this.name = 'ShortCodeTaken';
  }
}

/**
 * The `call_links` collection: unique short codes and soft deletes; a link document is written
 * only at creation and deletion. Single-use claims live in `call_link_claims` and rest on a
 * unique `_id` insert, the one exactly-once primitive that MongoDB and FerretDB 1.24 share
 * (FerretDB's conditional updates are not atomic under concurrency).
 */
export class CallLinksRepository {
  private readonly links: Collection<CallLinkDocument>;
  private readonly claims: Collection<SingleUseClaim>;

  constructor(db: Db) {
    this.links = db.collection<CallLinkDocument>('call_links');
    this.claims = db.collection<SingleUseClaim>('call_link_claims');
  }

  async ensureIndexes(): Promise<void> {
    await this.links.createIndex({ short_code: 1 }, { unique: true });
    await this.links.createIndex({ host_id: 1, created_at: -1 });
  }

  /** Inserts; a short-code collision throws ShortCodeTaken. */
  async create(link: CallLink): Promise<CallLink> {
    const { id, ...rest } = link;
    try {
      await this.links.insertOne({ _id: id, ...rest });
    } catch (err) {
      if (isDuplicateKey(err)) throw new ShortCodeTaken();
      throw err;
    }
    return link;
  }

  /** A link by id, deleted ones included. */
  async findById(id: string): Promise<CallLink | null> {
    const doc = await this.links.findOne({ _id: id });
    return doc ? toLink(doc) : null;
  }

  /** A link by short code, deleted ones included (callers tell "gone" from "never existed"). */
  async findByShortCode(shortCode: string): Promise<CallLink | null> {
    const doc = await this.links.findOne({ short_code: shortCode });
    return doc ? toLink(doc) : null;
  }

  /** A host's links that are not deleted, newest first, with the total. */
  async listByHost(hostId: string, skip: number, limit: number): Promise<{ items: CallLink[]; total: number }> {
    const filter = { host_id: hostId, deleted_at: null };
    const [docs, total] = await Promise.all([
      this.links.find(filter).sort({ created_at: -1, _id: -1 }).skip(skip).limit(limit).toArray(),
      this.links.countDocuments(filter),
    ]);
    return { items: docs.map(toLink), total };
  }

  /** Soft-deletes a live link; `hostId` null lets an admin delete any. False when absent or already deleted. */
  async softDelete(id: string, hostId: string | null, at: Date): Promise<boolean> {
    const filter = { _id: id, deleted_at: null, ...(hostId ? { host_id: hostId } : {}) };
    const res = await this.links.updateOne(filter, { $set: { deleted_at: at, updated_at: at } });
    return res.modifiedCount === 1;
  }

  /** Takes the single use of a link; of concurrent callers exactly one gets true. */
  async claimSingleUse(linkId: string, at: Date): Promise<boolean> {
    try {
      await this.claims.insertOne({ _id: linkId, at });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Gives back the single use claimed by a join that then failed. */
  async releaseSingleUse(linkId: string): Promise<void> {
    await this.claims.deleteOne({ _id: linkId });
  }

  /** Which of `linkIds` have had their single use taken. */
  async usedOf(linkIds: string[]): Promise<Set<string>> {
    if (linkIds.length === 0) return new Set();
    const docs = await this.claims.find({ _id: { $in: linkIds } }).toArray();
    return new Set(docs.map((d) => d._id));
  }
}
