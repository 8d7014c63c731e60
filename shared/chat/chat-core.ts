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
/** A conversation's pending latest-message update and the senders waiting for it. */
interface LatestSlot {
  latest: { message: ChatMessage; at: Date } | null;
  waiters: Array<{ resolve(): void; reject(err: unknown): void }>;
  running?: boolean;
}

/** Conversations whose members and last seq a process remembers (oldest forgotten first). */
const REMEMBERED_CONVERSATIONS = 10_000;

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
  /** Members per conversation (they never change). */
  readonly #members = new Map<string, [string, string]>();
  /** Per conversation, a seq this process knows is stored (the last it wrote or read): the next write tries the one after. */
  readonly #lastSeq = new Map<string, number>();
  /** Per conversation, the latest-message update running or waiting (see #recordLatest). */
  readonly #recording = new Map<string, LatestSlot>();

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
    const members = await this.#membersOf(input.conversationId, input.senderId);
    const clientKey = input.clientId ? `${input.senderId}:${input.clientId}` : undefined;
    const other = counterpartOf({ members }, input.senderId);
    if (await this.blocks.between(input.senderId, other)) {
      // A retry of a message stored before the block still gets its stored copy.
      const earlier = clientKey ? await this.messages.byClientKey(input.conversationId, clientKey) : null;
      if (earlier) return { message: earlier, duplicate: true };
      throw new AppError('forbidden', { message: 'One of you has blocked the other.' });
    }
    if (input.imageId && !(await this.ownsImage(input.imageId, input.senderId))) {
      throw new AppError('validation_error', { message: 'Unknown image.', details: { image_id: 'must be an image you uploaded' } });
    }
    const result = await this.#serialized(input.conversationId, () => this.#insert(input.conversationId, members, input, text, clientKey));
    if (!result.duplicate) await this.#recordLatest(result.message, input.at);
    return result;
  }

  /**
   * Moves the conversation's latest message and activity, outside the per-conversation write
   * order (the next message is stored meanwhile); updates queued while one runs collapse into
   * one for the newest message, and every caller resolves once it is written.
   */
  #recordLatest(message: ChatMessage, at: Date): Promise<void> {
    const id = message.conversation_id;
    let slot = this.#recording.get(id);
    if (!slot) {
      slot = { latest: null, waiters: [] };
      this.#recording.set(id, slot);
    }
    if (!slot.latest || slot.latest.message.seq < message.seq) slot.latest = { message, at };
    const written = new Promise<void>((resolve, reject) => slot.waiters.push({ resolve, reject }));
    if (!slot.running) void this.#drainLatest(id, slot);
    return written;
  }

  async #drainLatest(id: string, slot: LatestSlot): Promise<void> {
    slot.running = true;
    while (slot.latest) {
      const { message, at } = slot.latest;
      slot.latest = null;
      const waiters = slot.waiters.splice(0);
      try {
        await this.conversations.recordLatest(message, at);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    slot.running = false;
    this.#recording.delete(id);
  }

  /** The members of a conversation `userId` belongs to (`not_found` otherwise); members never change, so they are remembered. */
  async #membersOf(conversationId: string, userId: string): Promise<[string, string]> {
    let members = this.#members.get(conversationId);
    if (!members) {
      members = (await this.memberOf(conversationId, userId)).members;
      if (this.#members.size >= REMEMBERED_CONVERSATIONS) this.#members.delete(this.#members.keys().next().value!);
      this.#members.set(conversationId, members);
    }
    if (!members.includes(userId)) throw new AppError('not_found', { message: 'Conversation not found.' });
    return members;
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

  /**
   * Inserts at the next seq: the last one this process stored or read for the conversation + 1
   * (it is stored, so no gap), else the highest stored + 1. A refusal by the unique indexes is
   * either this client key stored already (a retry: its stored copy) or a number taken by another
   * process (read the highest again and retry).
   */
  async #insert(conversationId: string, members: readonly string[], input: NewMessage, text: string | null, clientKey: string | undefined): Promise<{ message: ChatMessage; duplicate: boolean }> {
    let seq = (this.#lastSeq.get(conversationId) ?? (await this.messages.maxSeq(conversationId))) + 1;
    for (let attempt = 0; attempt < MAX_SEQ_ATTEMPTS; attempt++) {
      const id = newId();
      const doc: MessageDocument = {
        _id: id, conversation_id: conversationId, seq, sender_id: input.senderId, kind: input.imageId ? 'image' : 'text',
        text, image_id: input.imageId ?? null, client_id: input.clientId ?? null, client_key: clientKey ?? `id:${id}`, created_at: input.at,
      };
      if (await this.messages.insert(doc)) {
        this.#rememberSeq(conversationId, seq);
        const message = messageFromDocument(doc);
        await this.notifier.notify(members, { t: 'message', message });
        return { message, duplicate: false };
      }
      if (clientKey) {
        const earlier = await this.messages.byClientKey(conversationId, clientKey);
        if (earlier) return { message: earlier, duplicate: true };
      }
      seq = (await this.messages.maxSeq(conversationId)) + 1;
      this.#rememberSeq(conversationId, seq - 1);
    }
    throw new AppError('service_unavailable', { message: 'Could not store the message; retry with the same client_id.' });
  }

  #rememberSeq(conversationId: string, seq: number): void {
    this.#lastSeq.delete(conversationId);
    if (this.#lastSeq.size >= REMEMBERED_CONVERSATIONS) this.#lastSeq.delete(this.#lastSeq.keys().next().value!);
    this.#lastSeq.set(conversationId, seq);
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
