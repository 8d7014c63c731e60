import type { Collection, Db, Filter } from 'mongodb';
import { duplicateIndexes, isDuplicateKey } from '../runtime/mongo/errors.js';
import type { ChatMessage } from './types.js';

/** A message document: `_id` is the message id; `client_key` is `<sender>:<client id>` (or `seq:<n>` without one). */
export interface MessageDocument {
  _id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  kind: ChatMessage['kind'];
  text: string | null;
  image_id: string | null;
  client_id: string | null;
  client_key: string;
  created_at: Date;
}

export function messageFromDocument(doc: MessageDocument): ChatMessage {
  return {
    id: doc._id, conversation_id: doc.conversation_id, seq: doc.seq, sender_id: doc.sender_id, kind: doc.kind,
    text: doc.text, image_id: doc.image_id, client_id: doc.client_id, created_at: doc.created_at.toISOString(),
  };
}

/** The `messages` collection: unique on (conversation, seq) and on (conversation, client key). */
export class MongoMessages {
  readonly collection: Collection<MessageDocument>;

  constructor(db: Db) {
    this.collection = db.collection<MessageDocument>('messages');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ conversation_id: 1, seq: 1 }, { unique: true });
    await this.collection.createIndex({ conversation_id: 1, client_key: 1 }, { unique: true });
    await this.collection.createIndex({ image_id: 1 });
  }

  /** Inserts `doc`; false when a unique index already holds its seq or client key. */
  async insert(doc: MessageDocument): Promise<boolean> {
    try {
      await this.collection.insertOne(doc);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /**
   * Inserts `docs` in one unordered command; returns the indexes of those refused by a unique
   * index (their seq or client key was taken). Any other failure is thrown.
   */
  async insertManyNew(docs: readonly MessageDocument[]): Promise<Set<number>> {
    if (docs.length === 0) return new Set();
    try {
      await this.collection.insertMany(docs as MessageDocument[], { ordered: false });
      return new Set();
    } catch (err) {
      const indexes = duplicateIndexes(err);
      if (!indexes) throw err;
      return indexes;
    }
  }

  /** Which of `conversationIds` hold a message with `clientKey` already (one query). */
  async conversationsWithClientKey(clientKey: string, conversationIds: readonly string[]): Promise<Set<string>> {
    if (conversationIds.length === 0) return new Set();
    const docs = await this.collection.find({ client_key: clientKey, conversation_id: { $in: [...conversationIds] } }, { projection: { conversation_id: 1 } }).toArray();
    return new Set(docs.map((d) => d.conversation_id));
  }

  /** Deletes messages by id (a batch's copies left without a conversation). */
  async deleteIds(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.collection.deleteMany({ _id: { $in: [...ids] } });
  }

  async byClientKey(conversationId: string, clientKey: string): Promise<ChatMessage | null> {
    const doc = await this.collection.findOne({ conversation_id: conversationId, client_key: clientKey });
    return doc ? messageFromDocument(doc) : null;
  }

  async bySeq(conversationId: string, seq: number): Promise<ChatMessage | null> {
    const doc = await this.collection.findOne({ conversation_id: conversationId, seq });
    return doc ? messageFromDocument(doc) : null;
  }

  async byId(id: string): Promise<ChatMessage | null> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? messageFromDocument(doc) : null;
  }

  /** The highest stored sequence number of the conversation (0 when empty). */
  async maxSeq(conversationId: string): Promise<number> {
    const [doc] = await this.collection.find({ conversation_id: conversationId }, { projection: { seq: 1 } }).sort({ seq: -1 }).limit(1).toArray();
    return doc?.seq ?? 0;
  }

  /** The latest visible message, if any. */
  async latest(conversationId: string): Promise<ChatMessage | null> {
    const [doc] = await this.collection.find({ conversation_id: conversationId }).sort({ seq: -1 }).limit(1).toArray();
    return doc ? messageFromDocument(doc) : null;
  }

  /** Messages with `after < seq <= upTo`, ascending, at most `limit`. */
  async range(conversationId: string, after: number, upTo: number, limit: number): Promise<ChatMessage[]> {
    const docs = await this.collection.find({ conversation_id: conversationId, seq: { $gt: after, $lte: upTo } }).sort({ seq: 1 }).limit(limit).toArray();
    return docs.map(messageFromDocument);
  }

  /** One page of messages with the total, per the bounds and order given. */
  async page(query: { conversationId: string; above: number; below?: number; ascending: boolean; skip: number; limit: number }): Promise<{ items: ChatMessage[]; total: number }> {
    const seq: Record<string, number> = { $gt: query.above };
    if (query.below !== undefined) seq['$lt'] = query.below;
    const filter: Filter<MessageDocument> = { conversation_id: query.conversationId, seq };
    const [docs, total] = await Promise.all([
      this.collection.find(filter).sort({ seq: query.ascending ? 1 : -1 }).skip(query.skip).limit(query.limit).toArray(),
      this.collection.countDocuments(filter),
    ]);
    return { items: docs.map(messageFromDocument), total };
  }

  /** Visible messages from others above `readSeq`. */
  async unread(conversationId: string, userId: string, readSeq: number): Promise<number> {
    return this.collection.countDocuments({ conversation_id: conversationId, seq: { $gt: readSeq }, sender_id: { $ne: userId } });
  }
}
