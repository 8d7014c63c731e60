import { createHash } from 'node:crypto';
import { AppError, validationError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import type { AvatarStorage, StoredAvatar } from '../../repositories/avatars.js';
import type { User, UsersRepository } from '../../repositories/users.js';
import { sniffImage } from './image-sniff.js';

export interface AvatarLimits {
  maxBytes: number;
  maxPixels: number;
}

/** Avatar uploads: byte-sniffed type, bounded size and pixels, one image per user. */
export class AvatarsService {
  constructor(
    private readonly storage: AvatarStorage,
    private readonly users: UsersRepository,
    private readonly limits: AvatarLimits,
    /** Public URL of an avatar id. */
    private readonly urlOf: (id: string) => string,
  ) {}

  /**
   * Stores `bytes` as the user's avatar and deletes the previous one. JPEG/PNG/WebP only, judged
   * by the bytes (415 otherwise); over `maxBytes` → 413; over `maxPixels` → 400.
   */
  async upload(userId: string, bytes: Buffer): Promise<User> {
    if (bytes.length > this.limits.maxBytes) throw new AppError('payload_too_large', { message: `Avatar must be at most ${this.limits.maxBytes} bytes.` });
    const image = sniffImage(bytes);
    if (!image) throw new AppError('unsupported_media_type', { message: 'Avatar must be a JPEG, PNG or WebP image.' });
    if (image.width * image.height > this.limits.maxPixels) {
      throw validationError({ avatar: `is ${image.width}x${image.height}; at most ${this.limits.maxPixels} pixels are allowed` });
    }
    const id = newId();
    const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`;
    await this.storage.put({ id, contentType: image.contentType, etag, bytes, ownerId: userId });
    const swapped = await this.users.swapAvatar(userId, id, this.urlOf(id));
    if (!swapped) {
      await this.storage.delete(id);
      throw new AppError('not_found', { message: 'User not found.' });
    }
    if (swapped.previous) await this.storage.delete(swapped.previous);
    const user = await this.users.findById(userId);
    if (!user) throw new AppError('not_found', { message: 'User not found.' });
    return user;
  }

  /** An avatar by id, or `not_found`. */
  async get(id: string): Promise<StoredAvatar> {
    const avatar = /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id) ? await this.storage.get(id) : null;
    if (!avatar) throw new AppError('not_found', { message: 'Avatar not found.' });
    return avatar;
  }
}
