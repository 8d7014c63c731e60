import { createHash } from 'node:crypto';
import type { ChatCore } from '../../../shared/chat/chat-core.js';
import { AppError, validationError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import type { ChatImage, ChatImagesRepository } from '../../repositories/chat-images.js';
import { sniffImage } from '../avatars/image-sniff.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Chat image uploads (type from the bytes, bounded size and pixels) and access limited to the conversations using them. */
export class ChatImagesService {
  constructor(private readonly images: ChatImagesRepository, private readonly core: ChatCore, private readonly limits: { maxBytes: number; maxPixels: number }) {}

  /** Stores an image the caller may then attach to messages. 413 over size, 415 not JPEG/PNG/WebP, 400 over pixels. */
  async upload(ownerId: string, bytes: Buffer, at: Date): Promise<ChatImage> {
    if (bytes.length > this.limits.maxBytes) throw new AppError('payload_too_large', { message: `Image must be at most ${this.limits.maxBytes} bytes.` });
    const sniffed = sniffImage(bytes);
    if (!sniffed) throw new AppError('unsupported_media_type', { message: 'Image must be a JPEG, PNG or WebP image.' });
    if (sniffed.width * sniffed.height > this.limits.maxPixels) {
      throw validationError({ image: `is ${sniffed.width}x${sniffed.height}; at most ${this.limits.maxPixels} pixels are allowed` });
    }
    const image: ChatImage = {
      id: newId(), owner_id: ownerId, content_type: sniffed.contentType, size: bytes.length, width: sniffed.width, height: sniffed.height,
      etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`, created_at: at,
    };
    await this.images.put(image, bytes);
    return image;
  }

  /** The image and its bytes for its owner or a member of a conversation with a message carrying it; `not_found` for anyone else. */
  async read(userId: string, id: string): Promise<{ image: ChatImage; bytes: Buffer }> {
    const image = ULID.test(id) ? await this.images.get(id) : null;
    if (!image || !(image.owner_id === userId || (await this.sharedWith(userId, id)))) throw new AppError('not_found', { message: 'Image not found.' });
    return { image, bytes: await this.images.bytes(id) };
  }

  private async sharedWith(userId: string, imageId: string): Promise<boolean> {
    const conversationIds = await this.core.messages.collection.distinct('conversation_id', { image_id: imageId });
    if (conversationIds.length === 0) return false;
    return (await this.core.conversations.collection.countDocuments({ _id: { $in: conversationIds }, members: userId }, { limit: 1 })) > 0;
  }
}

/** Public view of an uploaded image. */
export function imageView(image: ChatImage, url: string): Record<string, unknown> {
  return { id: image.id, content_type: image.content_type, size: image.size, width: image.width, height: image.height, url, created_at: image.created_at.toISOString() };
}
