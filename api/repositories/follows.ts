import type { Collection, Db } from 'mongodb';

interface FollowDocument { _id: string; follower_id: string; host_id: string; created_at: Date }

/** The `follows` collection: one document per (follower, host); idempotent follow and unfollow. */
export class FollowsRepository {
  private readonly collection: Collection<FollowDocument>;

  constructor(db: Db) {
    this.collection = db.collection<FollowDocument>('follows');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ host_id: 1, follower_id: 1 });
    await this.collection.createIndex({ follower_id: 1, created_at: -1 });
  }

  async follow(followerId: string, hostId: string, at: Date): Promise<void> {
    await this.collection.updateOne({ _id: `${followerId}|${hostId}` }, { $setOnInsert: { follower_id: followerId, host_id: hostId, created_at: at } }, { upsert: true });
  }

  async unfollow(followerId: string, hostId: string): Promise<void> {
    await this.collection.deleteOne({ _id: `${followerId}|${hostId}` });
  }

  async followers(hostId: string, skip: number, limit: number): Promise<{ items: Array<{ user_id: string; since: Date }>; total: number }> {
    const [docs, total] = await Promise.all([
      this.collection.find({ host_id: hostId }).sort({ created_at: -1, _id: 1 }).skip(skip).limit(limit).toArray(),
      this.collection.countDocuments({ host_id: hostId }),
    ]);
    return { items: docs.map((d) => ({ user_id: d.follower_id, since: d.created_at })), total };
  }

  async following(followerId: string, skip: number, limit: number): Promise<{ items: Array<{ user_id: string; since: Date }>; total: number }> {
    const [docs, total] = await Promise.all([
      this.collection.find({ follower_id: followerId }).sort({ created_at: -1, _id: 1 }).skip(skip).limit(limit).toArray(),
      this.collection.countDocuments({ follower_id: followerId }),
    ]);
    return { items: docs.map((d) => ({ user_id: d.host_id, since: d.created_at })), total };
  }

  /** `hostId`'s follower ids above `after`, ascending, in batches of `size`, from one cursor (one pass over the follows). */
  async *followerIdBatches(hostId: string, after: string, size: number): AsyncGenerator<string[]> {
    let batch: string[] = [];
    for await (const d of this.collection.find({ host_id: hostId, follower_id: { $gt: after } }, { projection: { follower_id: 1 } }).sort({ follower_id: 1 }).batchSize(size)) {
      batch.push(d.follower_id);
      if (batch.length === size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async countFollowers(hostId: string): Promise<number> {
    return this.collection.countDocuments({ host_id: hostId });
  }
}
