import type { Db } from 'mongodb';
import type { Config } from '../../../config/index.js';
import { ChatCore } from '../../../shared/chat/chat-core.js';
import type { ChatNotifier } from '../../../shared/chat/events.js';
import type { UsersRepository } from '../../repositories/users.js';
import { ConversationsService } from './conversations-service.js';

/** Chat as the routes use it. */
export interface ChatServices {
  core: ChatCore;
  conversations: ConversationsService;
  maxTextChars: number;
}

/** Builds the chat services and creates their indexes. */
export async function createChatServices(deps: { config: Config; db: Db; users: UsersRepository; notifier: ChatNotifier }): Promise<ChatServices> {
  const settings = deps.config.chat;
  const core = new ChatCore(deps.db, deps.notifier, { maxTextChars: settings.maxTextChars });
  await core.ensureIndexes();
  return { core, conversations: new ConversationsService(core, deps.users, deps.db), maxTextChars: settings.maxTextChars };
}
