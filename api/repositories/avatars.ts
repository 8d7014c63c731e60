import { GridFSBucket, type Db } from 'mongodb';

/** A stored avatar image. */
export interface StoredAvatar {
  id: string;
  contentType: string;
  /** Strong ETag value, quoted. */
  etag: string;
  bytes: Buffer;
}

/** Where avatar images live; the API needs nothing more than this. */
export interface AvatarStorage {
  put(avatar: StoredAvatar & { ownerId: string }): Promise<void>;
  get(id: string): Promise<StoredAvatar | null>;
  /** Removes the image; absent ids are ignored. */
  delete(id: string): Promise<void>;
}

interface AvatarMetadata { contentType: string; etag: string; ownerId: string }

/** AvatarStorage in GridFS (bucket `avatars`); works on MongoDB and FerretDB 1.24 alike. */
export class GridFsAvatarStorage implements AvatarStorage {
  private readonly bucket: GridFSBucket;

  constructor(db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: 'avatars' });
  }

  async put(avatar: StoredAvatar & { ownerId: string }): Promise<void> {
    const metadata: AvatarMetadata = { contentType: avatar.contentType, etag: avatar.etag, ownerId: avatar.ownerId };
    await new Promise<void>((resolve, reject) => {
      const upload = this.bucket.openUploadStreamWithId(avatar.id as never, avatar.id, { metadata });
      upload.once('error', reject);
      upload.once('finish', () => resolve());
      upload.end(avatar.bytes);
    });
  }

  async get(id: string): Promise<StoredAvatar | null> {
    const [file] = await this.bucket.find({ _id: id as never }).limit(1).toArray();
    if (!file) return null;
    const metadata = file.metadata as AvatarMetadata | undefined;
    if (!metadata) return null;
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const download = this.bucket.openDownloadStream(id as never);
      download.on('data', (chunk: Buffer) => chunks.push(chunk));
      download.once('error', reject);
      download.once('end', () => resolve());
    });
    return { id, contentType: metadata.contentType, etag: metadata.etag, bytes: Buffer.concat(chunks) };
  }

  async delete(id: string): Promise<void> {
    try {
      await this.bucket.delete(id as never);
    } catch (err) {
      if (!/file not found/i.test((err as Error).message)) throw err;
    }
  }
}
