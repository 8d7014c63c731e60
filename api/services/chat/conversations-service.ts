import type { Db } from 'mongodb';
import type { ChatCore } from '../../../shared/chat/chat-core.js';
import { counterpartOf, type ChatMessage, type Conversation } from '../../../shared/chat/types.js';
import { AppError, validationError } from '../../../shared/errors/index.js';
import type { Role } from '../../../shared/roles.js';
import type { UsersRepository } from '../../repositories/users.js';

/** Who is asking. */
export interface ChatCaller { userId: string; role: Role }

/** The other member as the conversation list shows them. */
export interface Party { id: string; role: Role; display_name: string | null; username: string | null; avatar_url: string | null }

export interface ConversationView {
  id: string;
  other: Party;
  last_seq: number;
  last_message: ChatMessage | null;
  unread_count: number;
  read_seq: number;
  last_activity_at: string;
  created_at: string;
}

const isGuestId = (id: string) => id.startsWith('gs_');

/**
 * Conversations as the REST API sees them: the caller's list with the other party and unread
 * counts, idempotent creation per pair (refused across a block; guests only with someone they
 * share a call with), history pages with cursors, delete-for-me, blocks.
 */
export class ConversationsService {
  constructor(private readonly core: ChatCore, private readonly users: UsersRepository, private readonly db: Db) {}

  async list(caller: ChatCaller, skip: number, limit: number): Promise<{ items: ConversationView[]; total: number }> {
    const { items, total } = await this.core.conversations.listFor(caller.userId, skip, limit);
    return { items: await Promise.all(items.map((c) => this.view(c, caller.userId))), total };
  }

  /** The pair's conversation (created once); `created` tells which status to answer. */
  async open(caller: ChatCaller, otherId: string, at: Date): Promise<{ view: ConversationView; created: boolean }> {
    if (otherId === caller.userId) throw validationError({ user_id: 'must be someone else' });
    const guestInvolved = caller.role === 'guest' || isGuestId(otherId);
    if (guestInvolved) {
      if (!(await this.shareCall(caller.userId, otherId))) throw new AppError('forbidden', { message: 'Guests may only chat with someone they share a call with.' });
    } else if (!(await this.users.findById(otherId))) {
      throw new AppError('not_found', { message: 'User not found.' });
    }
    if (await this.core.blocks.between(caller.userId, otherId)) throw new AppError('forbidden', { message: 'One of you has blocked the other.' });
    const { conversation, created } = await this.core.conversations.findOrCreate(caller.userId, otherId, at);
    if (created) await this.core.notifier.notify(conversation.members, { t: 'conversation', conversation_id: conversation.id, change: 'created', user_id: caller.userId });
    return { view: await this.view(conversation, caller.userId), created };
  }

  async get(caller: ChatCaller, id: string): Promise<ConversationView> {
    return this.view(await this.core.memberOf(id, caller.userId), caller.userId);
  }

  /**
   * One page of history. Default and `before`: newest first; `after`: oldest first (catching up).
   * Messages deleted for the caller are not shown; cursors are message ids of this conversation.
   */
  async messages(caller: ChatCaller, id: string, query: { before?: string; after?: string; skip: number; limit: number }): Promise<{ items: ChatMessage[]; total: number }> {
    const conversation = await this.core.memberOf(id, caller.userId);
    const cleared = conversation.state[caller.userId]?.cleared_seq ?? 0;
    let above = cleared;
    let below: number | undefined;
    if (query.before) below = (await this.cursor(conversation, query.before, 'before')).seq;
    if (query.after) above = Math.max(above, (await this.cursor(conversation, query.after, 'after')).seq);
    return this.core.messages.page({ conversationId: id, above, ...(below !== undefined ? { below } : {}), ascending: query.after !== undefined, skip: query.skip, limit: query.limit });
  }

  async clear(caller: ChatCaller, id: string): Promise<void> {
    await this.core.memberOf(id, caller.userId);
    await this.core.conversations.clearFor(id, caller.userId, await this.core.messages.maxSeq(id));
    await this.core.notifier.notify([caller.userId], { t: 'conversation', conversation_id: id, change: 'deleted', user_id: caller.userId });
  }

  async block(caller: ChatCaller, otherId: string, at: Date): Promise<void> {
    if (otherId === caller.userId) throw validationError({ user_id: 'must be someone else' });
    await this.core.blocks.block(caller.userId, otherId, at);
  }

  async unblock(caller: ChatCaller, otherId: string): Promise<void> {
    await this.core.blocks.unblock(caller.userId, otherId);
  }

  async blocked(caller: ChatCaller): Promise<string[]> {
    return this.core.blocks.blockedBy(caller.userId, 1000);
  }

  private async cursor(conversation: Conversation, messageId: string, field: string): Promise<ChatMessage> {
    const message = await this.core.messages.byId(messageId);
    if (!message || message.conversation_id !== conversation.id) throw validationError({ [field]: 'must be the id of a message of this conversation' });
    return message;
  }

  private async shareCall(a: string, b: string): Promise<boolean> {
    const calls = this.db.collection('calls');
    return (await calls.countDocuments({ $or: [{ host_id: a, guest_id: b }, { host_id: b, guest_id: a }] }, { limit: 1 })) > 0;
  }

  private async party(id: string): Promise<Party> {
    if (isGuestId(id)) return { id, role: 'guest', display_name: null, username: null, avatar_url: null };
    const user = await this.users.findById(id);
    return { id, role: user?.role ?? 'user', display_name: user?.display_name ?? null, username: user?.username ?? null, avatar_url: user?.avatar_url ?? null };
  }

  private async view(conversation: Conversation, me: string): Promise<ConversationView> {
    const state = conversation.state[me] ?? { read_seq: 0, cleared_seq: 0 };
    const readSeq = Math.max(state.read_seq, state.cleared_seq);
    const [other, unread, latest] = await Promise.all([
      this.party(counterpartOf(conversation, me)),
      this.core.messages.unread(conversation.id, me, readSeq),
      this.core.messages.latest(conversation.id),
    ]);
    const last = latest && latest.seq > state.cleared_seq ? latest : null;
    return {
      id: conversation.id, other, last_seq: latest?.seq ?? 0, last_message: last, unread_count: unread, read_seq: readSeq,
      last_activity_at: conversation.last_activity_at.toISOString(), created_at: conversation.created_at.toISOString(),
    };
  }
}
