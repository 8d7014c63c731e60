import type { Collection, Db } from 'mongodb';

interface BlockDocument {
  _id: string;
  blocker_id: string;
  blocked_id: string;
  created_at: Date;
}

/** The `blocks` collection: one document per (blocker, blocked), idempotent both ways. */
export class MongoBlocks {
  readonly collection: Collection<BlockDocument>;

  constructor(db: Db) {
    this.collection = db.collection<BlockDocument>('blocks');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ blocker_id: 1, created_at: -1 });
  }

  async block(blocker: string, blocked: string, at: Date): Promise<void> {
    await this.collection.updateOne({ _id: `${blocker}|${blocked}` }, { $setOnInsert: { blocker_id: blocker, blocked_id: blocked, created_at: at } }, { upsert: true });
  }

  async unblock(blocker: string, blocked: string): Promise<void> {
    await this.collection.deleteOne({ _id: `${blocker}|${blocked}` });
  }

  /** True when either has blocked the other. */
  async between(a: string, b: string): Promise<boolean> {
    return (await this.collection.countDocuments({ _id: { $in: [`${a}|${b}`, `${b}|${a}`] } }, { limit: 1 })) > 0;
  }

  /** Everyone `user` has blocked or is blocked by (one query each way). */
  async involving(user: string): Promise<Set<string>> {
    const [mine, theirs] = await Promise.all([
      this.collection.find({ blocker_id: user }, { projection: { blocked_id: 1 } }).toArray(),
      this.collection.find({ blocked_id: user }, { projection: { blocker_id: 1 } }).toArray(),
    ]);
    return new Set([...mine.map((d) => d.blocked_id), ...theirs.map((d) => d.blocker_id)]);
  }

  async blockedBy(blocker: string, limit: number): Promise<string[]> {
    const docs = await this.collection.find({ blocker_id: blocker }).sort({ created_at: -1 }).limit(limit).toArray();
    return docs.map((d) => d.blocked_id);
  }
}
