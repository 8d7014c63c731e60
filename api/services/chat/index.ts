import type { Db } from 'mongodb';
import type { Config } from '../../../config/index.js';
import { ChatCore } from '../../../shared/chat/chat-core.js';
import type { ChatNotifier } from '../../../shared/chat/events.js';
import type { Logger } from 'pino';
import { BroadcastsRepository } from '../../repositories/broadcasts.js';
import { ChatImagesRepository } from '../../repositories/chat-images.js';
import { FollowsRepository } from '../../repositories/follows.js';
import { BroadcastsService } from './broadcasts-service.js';
import type { UsersRepository } from '../../repositories/users.js';
import { ConversationsService } from './conversations-service.js';
import { ChatImagesService } from './images-service.js';

/** Chat as the routes use it. */
export interface ChatServices {
  core: ChatCore;
  conversations: ConversationsService;
  images: ChatImagesService;
  follows: FollowsRepository;
  broadcasts: BroadcastsService;
  maxTextChars: number;
  imageMaxBytes: number;
  /** Public URL of a chat image id. */
  imageUrl(id: string): string;
}

/** Builds the chat services and creates their indexes. */
export async function createChatServices(deps: { config: Config; db: Db; users: UsersRepository; notifier: ChatNotifier; log: Logger }): Promise<ChatServices> {
  const settings = deps.config.chat;
  const core = new ChatCore(deps.db, deps.notifier, { maxTextChars: settings.maxTextChars });
  const imagesRepo = new ChatImagesRepository(deps.db);
  const follows = new FollowsRepository(deps.db);
  const broadcastsRepo = new BroadcastsRepository(deps.db);
  await Promise.all([core.ensureIndexes(), imagesRepo.ensureIndexes(), follows.ensureIndexes(), broadcastsRepo.ensureIndexes()]);
  const broadcasts = new BroadcastsService(broadcastsRepo, follows, core, { ...settings.broadcast, pollMs: 1000, leaseMs: 30000 }, deps.log.child({ component: 'chat-broadcast' }));
  return {
    core, conversations: new ConversationsService(core, deps.users, deps.db), images: new ChatImagesService(imagesRepo, core, settings.image), follows, broadcasts,
    maxTextChars: settings.maxTextChars, imageMaxBytes: settings.image.maxBytes, imageUrl: (id) => `${deps.config.api.publicUrl}/v1/chat/images/${id}`,
  };
}
