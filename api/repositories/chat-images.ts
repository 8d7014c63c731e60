import { GridFSBucket, type Collection, type Db } from 'mongodb';

/** A chat image's record; the bytes live in the GridFS bucket `chat_images` under the same id. */
export interface ChatImage {
  id: string;
  owner_id: string;
  content_type: string;
  etag: string;
  size: number;
  width: number;
  height: number;
  created_at: Date;
}

type ChatImageDocument = Omit<ChatImage, 'id'> & { _id: string };

/** The `chat_images` collection (ownership, type, size) and its GridFS bucket (bytes), as avatars are stored. */
export class ChatImagesRepository {
  private readonly collection: Collection<ChatImageDocument>;
  private readonly bucket: GridFSBucket;

  constructor(db: Db) {
    this.collection = db.collection<ChatImageDocument>('chat_images');
    this.bucket = new GridFSBucket(db, { bucketName: 'chat_images' });
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ owner_id: 1, created_at: -1 });
  }

  /** Stores the bytes first, then the record: a record always has its bytes. */
  async put(image: ChatImage, bytes: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const upload = this.bucket.openUploadStreamWithId(image.id as never, image.id, { metadata: { ownerId: image.owner_id } });
      upload.once('error', reject);
      upload.once('finish', () => resolve());
      upload.end(bytes);
    });
    const { id, ...rest } = image;
    await this.collection.insertOne({ _id: id, ...rest });
  }

  async get(id: string): Promise<ChatImage | null> {
    const doc = await this.collection.findOne({ _id: id });
    if (!doc) return null;
    const { _id, ...rest } = doc;
    return { id: _id, ...rest };
  }

  async bytes(id: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const download = this.bucket.openDownloadStream(id as never);
      download.on('data', (chunk: Buffer) => chunks.push(chunk));
      download.once('error', reject);
      download.once('end', () => resolve());
    });
    return Buffer.concat(chunks);
  }
}
