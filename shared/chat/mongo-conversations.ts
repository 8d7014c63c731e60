import type { Collection, Db } from 'mongodb';
import { newId } from '../ids.js';
import { duplicateIndexes, isDuplicateKey } from '../runtime/mongo/errors.js';
import type { ChatMessage, Conversation, MemberState } from './types.js';

interface ConversationDocument {
  _id: string;
  /** `<a>|<b>` of the sorted member ids: one conversation per pair. */
  pair_key: string;
  members: [string, string];
  last_seq: number;
  last_message: ChatMessage | null;
  last_activity_at: Date;
  created_at: Date;
  hidden: string[];
  state: Record<string, MemberState>;
}

function fromDocument(doc: ConversationDocument): Conversation {
  return {
    id: doc._id, members: doc.members, last_seq: doc.last_seq, last_message: doc.last_message ?? null,
    last_activity_at: doc.last_activity_at, created_at: doc.created_at, hidden: doc.hidden ?? [], state: doc.state ?? {},
  };
}

/** `<a>|<b>` of the sorted member ids. */
export function pairKey(a: string, b: string): string {
  return [a, b].sort().join('|');
}

/** The `conversations` collection: pair uniqueness, the atomic sequence counter, member state. */
export class MongoConversations {
  readonly collection: Collection<ConversationDocument>;

  constructor(db: Db) {
    this.collection = db.collection<ConversationDocument>('conversations');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ pair_key: 1 }, { unique: true });
    await this.collection.createIndex({ members: 1, last_activity_at: -1 });
  }

  async get(id: string): Promise<Conversation | null> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? fromDocument(doc) : null;
  }

  /** The pair's conversation, created when absent; `created` is true only for the call that made it. */
  async findOrCreate(a: string, b: string, at: Date): Promise<{ conversation: Conversation; created: boolean }> {
    const members = [a, b].sort() as [string, string];
    const pair_key = pairKey(a, b);
    const existing = await this.collection.findOne({ pair_key });
    if (existing) return { conversation: fromDocument(existing), created: false };
    const doc: ConversationDocument = {
      _id: newId(), pair_key, members, last_seq: 0, last_message: null, last_activity_at: at, created_at: at, hidden: [],
      state: { [members[0]]: { read_seq: 0, cleared_seq: 0 }, [members[1]]: { read_seq: 0, cleared_seq: 0 } },
    };
    try {
      await this.collection.insertOne(doc);
      return { conversation: fromDocument(doc), created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const raced = await this.collection.findOne({ pair_key });
      if (!raced) throw err;
      return { conversation: fromDocument(raced), created: false };
    }
  }

  /** Every conversation of `user`: other member → {id, last_seq hint} (one read, streamed). */
  async allOf(user: string): Promise<Map<string, { id: string; lastSeq: number }>> {
    const found = new Map<string, { id: string; lastSeq: number }>();
    for await (const d of this.collection.find({ members: user }, { projection: { _id: 1, members: 1, last_seq: 1 } }).batchSize(1000)) {
      found.set(d.members[0] === user ? d.members[1] : d.members[0], { id: d._id, lastSeq: d.last_seq ?? 0 });
    }
    return found;
  }

  /**
   * Creates the conversations of `user` with each of `others`, already holding messages up to
   * `lastSeq` (stored before this call). Returns the others whose conversation another writer
   * created first (the caller's copies for them belong to no conversation).
   */
  async createMany(user: string, others: ReadonlyArray<{ other: string; id: string; lastSeq: number }>, at: Date): Promise<Set<string>> {
    if (others.length === 0) return new Set();
    const docs: ConversationDocument[] = others.map(({ other, id, lastSeq }) => {
      const members = [user, other].sort() as [string, string];
      return {
        _id: id, pair_key: members.join('|'), members, last_seq: lastSeq, last_message: null, last_activity_at: at, created_at: at, hidden: [],
        state: { [members[0]]: { read_seq: 0, cleared_seq: 0 }, [members[1]]: { read_seq: 0, cleared_seq: 0 } },
      };
    });
    try {
      await this.collection.insertMany(docs, { ordered: false });
      return new Set();
    } catch (err) {
      const indexes = duplicateIndexes(err);
      if (!indexes) throw err;
      return new Set([...indexes].map((i) => others[i]!.other));
    }
  }

  /** After new messages at `seq` in each of `ids`: the seq hint, activity, and shown again to both. */
  async advanceMany(ids: readonly string[], seq: number, at: Date): Promise<void> {
    if (ids.length > 0) await this.collection.updateMany({ _id: { $in: [...ids] } }, { $set: { last_seq: seq, last_activity_at: at, hidden: [] } });
  }

  /** Records `message` as the latest unless a later one is recorded already; shows the conversation again to all. */
  async recordLatest(message: ChatMessage, at: Date): Promise<void> {
    await this.collection.updateOne(
      { _id: message.conversation_id, $or: [{ last_message: null }, { 'last_message.seq': { $lt: message.seq } }] },
      { $set: { last_message: message, last_seq: message.seq, last_activity_at: at, hidden: [] } },
    );
  }

  /** Moves `userId`'s read pointer forward to `seq` (never back, never past the last message); returns the pointer. */
  async markRead(id: string, userId: string, seq: number): Promise<number | null> {
    const doc = await this.collection.findOneAndUpdate({ _id: id, members: userId }, { $max: { [`state.${userId}.read_seq`]: seq } }, { returnDocument: 'after' });
    return doc ? (doc.state?.[userId]?.read_seq ?? 0) : null;
  }

  /** Deletes the conversation's history up to `upTo` for `userId` and hides it until the next message. */
  async clearFor(id: string, userId: string, upTo: number): Promise<boolean> {
    const doc = await this.collection.findOne({ _id: id, members: userId }, { projection: { _id: 1 } });
    if (!doc) return false;
    await this.collection.updateOne({ _id: id }, {
      $max: { [`state.${userId}.cleared_seq`]: upTo, [`state.${userId}.read_seq`]: upTo },
      $addToSet: { hidden: userId },
    });
    return true;
  }

  /** One page of `userId`'s visible conversations, newest activity first, with the total. */
  async listFor(userId: string, skip: number, limit: number): Promise<{ items: Conversation[]; total: number }> {
    const filter = { members: userId, hidden: { $ne: userId } };
    const [docs, total] = await Promise.all([
      this.collection.find(filter).sort({ last_activity_at: -1, _id: -1 }).skip(skip).limit(limit).toArray(),
      this.collection.countDocuments(filter),
    ]);
    return { items: docs.map(fromDocument), total };
  }
}
