import type { Db } from 'mongodb';
import { AppError } from '../errors/index.js';
import { newId } from '../ids.js';
import type { ChatNotifier } from './events.js';
import { MongoBlocks } from './mongo-blocks.js';
import { MongoConversations } from './mongo-conversations.js';
import { MongoMessages, messageFromDocument, type MessageDocument } from './mongo-messages.js';
import { counterpartOf, type ChatMessage, type Conversation, type NewMessage } from './types.js';

/**
 * Attempts at the next free sequence number. Each failed attempt means another sender's message
 * took the number, so a conversation with k concurrent senders needs at most k attempts.
 */
const MAX_SEQ_ATTEMPTS = 64;

/**
 * Sending and reading chat messages, shared by the API (REST) and the signal tier (WebSocket):
 * membership and block checks, the per-conversation sequence, idempotent retries by client id,
 * and notifying both members once a message is stored. Throws AppError with stable codes.
 *
 * Sequence numbers rest on the unique index (conversation, seq) alone: a writer inserts at the
 * highest stored seq + 1 and, on a duplicate, reads again and retries. FerretDB 1.x loses
 * concurrent `$inc` updates (30 concurrent `findOneAndUpdate` `$inc` left the counter at 5 here),
 * so a counter on the conversation would hand out one number twice; an insert against a unique
 * index is atomic on every backend. It also means n+1 is stored only once n is: no gaps, ever.
 */
export class ChatCore {
  readonly conversations: MongoConversations;
  readonly messages: MongoMessages;
  readonly blocks: MongoBlocks;
  /** Per conversation, the tail of this process's writes: one writer at a time here, so only other processes contend for a number. */
  readonly #writing = new Map<string, Promise<unknown>>();

  constructor(private readonly db: Db, readonly notifier: ChatNotifier, private readonly limits: { maxTextChars: number }) {
    this.conversations = new MongoConversations(db);
    this.messages = new MongoMessages(db);
    this.blocks = new MongoBlocks(db);
  }

  async ensureIndexes(): Promise<void> {
    await Promise.all([this.conversations.ensureIndexes(), this.messages.ensureIndexes(), this.blocks.ensureIndexes()]);
  }

  /** The conversation if `userId` is a member; `not_found` otherwise (no hint that it exists). */
  async memberOf(conversationId: string, userId: string): Promise<Conversation> {
    const conversation = await this.conversations.get(conversationId);
    if (!conversation || !conversation.members.includes(userId)) throw new AppError('not_found', { message: 'Conversation not found.' });
    return conversation;
  }

  /**
   * Stores a message and then tells both members. A retry with the same client id returns the
   * stored message with `duplicate: true` and stores nothing. The result is stored when it resolves.
   */
  async send(input: NewMessage): Promise<{ message: ChatMessage; duplicate: boolean }> {
    const text = input.text ?? null;
    if (text !== null && [...text].length > this.limits.maxTextChars) {
      throw new AppError('validation_error', { message: 'Message too long.', details: { text: `must be at most ${this.limits.maxTextChars} characters` } });
    }
    if ((text === null || text.length === 0) && !input.imageId) throw new AppError('validation_error', { message: 'A message needs text or an image.', details: { text: 'is required without image_id' } });
    const conversation = await this.memberOf(input.conversationId, input.senderId);
    const clientKey = input.clientId ? `${input.senderId}:${input.clientId}` : undefined;
    if (clientKey) {
      const earlier = await this.messages.byClientKey(conversation.id, clientKey);
      if (earlier) return { message: earlier, duplicate: true };
    }
    const other = counterpartOf(conversation, input.senderId);
    if (await this.blocks.between(input.senderId, other)) throw new AppError('forbidden', { message: 'One of you has blocked the other.' });
    if (input.imageId && !(await this.ownsImage(input.imageId, input.senderId))) {
      throw new AppError('validation_error', { message: 'Unknown image.', details: { image_id: 'must be an image you uploaded' } });
    }
    return this.#serialized(conversation.id, () => this.#insert(conversation.id, conversation.members, input, text, clientKey));
  }

  async #serialized<T>(conversationId: string, run: () => Promise<T>): Promise<T> {
    const before = this.#writing.get(conversationId) ?? Promise.resolve();
    const mine = before.then(run, run);
    const tail = mine.catch(() => undefined);
    this.#writing.set(conversationId, tail);
    try {
      return await mine;
    } finally {
      if (this.#writing.get(conversationId) === tail) this.#writing.delete(conversationId);
    }
  }

  async #insert(conversationId: string, members: readonly string[], input: NewMessage, text: string | null, clientKey: string | undefined): Promise<{ message: ChatMessage; duplicate: boolean }> {
    const conversation = { id: conversationId, members };
    if (clientKey) {
      const earlier = await this.messages.byClientKey(conversationId, clientKey);
      if (earlier) return { message: earlier, duplicate: true };
    }
    let seq = (await this.messages.maxSeq(conversation.id)) + 1;
    for (let attempt = 0; attempt < MAX_SEQ_ATTEMPTS; attempt++) {
      const id = newId();
      const doc: MessageDocument = {
        _id: id, conversation_id: conversation.id, seq, sender_id: input.senderId, kind: input.imageId ? 'image' : 'text',
        text, image_id: input.imageId ?? null, client_id: input.clientId ?? null, client_key: clientKey ?? `id:${id}`, created_at: input.at,
      };
      if (await this.messages.insert(doc)) {
        const message = messageFromDocument(doc);
        await this.conversations.recordLatest(message, input.at);
        await this.notifier.notify(conversation.members, { t: 'message', message });
        return { message, duplicate: false };
      }
      if (clientKey) {
        const raced = await this.messages.byClientKey(conversation.id, clientKey);
        if (raced) return { message: raced, duplicate: true };
      }
      seq = (await this.messages.maxSeq(conversation.id)) + 1;
    }
    throw new AppError('service_unavailable', { message: 'Could not store the message; retry with the same client_id.' });
  }

  /** Moves the reader's pointer forward and tells both members; returns the pointer. */
  async markRead(conversationId: string, userId: string, seq: number): Promise<number> {
    const conversation = await this.memberOf(conversationId, userId);
    const pointer = await this.conversations.markRead(conversationId, userId, Math.min(seq, await this.messages.maxSeq(conversationId)));
    if (pointer === null) throw new AppError('not_found', { message: 'Conversation not found.' });
    await this.notifier.notify(conversation.members, { t: 'read', conversation_id: conversationId, user_id: userId, seq: pointer });
    return pointer;
  }

  private async ownsImage(imageId: string, userId: string): Promise<boolean> {
    return (await this.db.collection('chat_images').countDocuments({ _id: imageId as never, owner_id: userId }, { limit: 1 })) > 0;
  }
}
