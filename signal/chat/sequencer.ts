import type { Logger } from 'pino';
import type { MongoConversations } from '../../shared/chat/mongo-conversations.js';
import type { MongoMessages } from '../../shared/chat/mongo-messages.js';
import type { ChatMessage } from '../../shared/chat/types.js';
import type { ChatSession, Cursor } from './chat-session.js';

type ReloadReason = 'too_many' | 'unknown_position' | 'not_found';

/**
 * Delivers each conversation's messages to a socket exactly once and in seq order.
 *
 * The store has no gaps and writes n+1 only once n exists (ChatCore), so a message that arrives
 * ahead of `last + 1` proves every lower one is stored: the socket reads them from the store
 * (holding later arrivals meanwhile) instead of waiting. A conversation the socket has not named
 * in `resume` starts after what its user deleted for themselves (all of it otherwise). More than
 * `recoveryMax` missing → a `reload` frame for that conversation, and delivery goes on from the
 * newest message.
 */
export class Sequencer {
  constructor(private readonly deps: {
    messages: MongoMessages;
    conversations: MongoConversations;
    recoveryMax: number;
    send: (session: ChatSession, frame: string) => void;
    log: Logger;
  }) {}

  /** A message from the broker (or a catch-up read) for `session`. */
  offer(session: ChatSession, message: ChatMessage): void {
    const id = message.conversation_id;
    let cursor = session.cursors.get(id);
    if (!cursor) {
      cursor = { last: -1, loading: true, pending: new Map([[message.seq, message]]) };
      session.cursors.set(id, cursor);
      void this.#start(session, id, cursor);
      return;
    }
    if (message.seq <= cursor.last) return;
    cursor.pending.set(message.seq, message);
    if (!cursor.loading) this.#drain(session, id, cursor);
  }

  /** Sets the cursors the client names and replays what it missed; returns the positions after the replay. */
  async resume(session: ChatSession, positions: Record<string, number>): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [id, seen] of Object.entries(positions)) {
      if (session.closed) break;
      const conversation = await this.deps.conversations.get(id);
      if (!conversation || !conversation.members.includes(session.user)) {
        this.#reload(session, id, 'not_found');
        continue;
      }
      let cursor = session.cursors.get(id);
      if (!cursor) {
        cursor = { last: -1, loading: false, pending: new Map() };
        session.cursors.set(id, cursor);
      }
      if (cursor.last < 0 || seen > cursor.last) {
        cursor.loading = true;
        await this.#catchUp(session, id, cursor, seen);
        this.#drain(session, id, cursor);
      }
      out[id] = cursor.last;
    }
    return out;
  }

  /**
   * Delivers what is stored above `seen` in one read of up to `recoveryMax` + 1 messages (the
   * newest seq is read only when that says too many, or nothing while the client claims a
   * position: is it beyond what is stored?).
   */
  async #catchUp(session: ChatSession, id: string, cursor: Cursor, seen: number): Promise<void> {
    cursor.last = seen;
    const missed = await this.deps.messages.range(id, seen, Number.MAX_SAFE_INTEGER, this.deps.recoveryMax + 1);
    if (missed.length > this.deps.recoveryMax) {
      this.#reload(session, id, 'too_many');
      cursor.last = await this.deps.messages.maxSeq(id);
      return;
    }
    if (missed.length === 0 && seen > 0) {
      const newest = await this.deps.messages.maxSeq(id);
      if (seen > newest) {
        this.#reload(session, id, 'unknown_position');
        cursor.last = newest;
      }
      return;
    }
    for (const message of missed) this.#deliver(session, cursor, message);
  }

  async #start(session: ChatSession, id: string, cursor: Cursor): Promise<void> {
    try {
      const conversation = await this.deps.conversations.get(id);
      cursor.last = conversation?.state[session.user]?.cleared_seq ?? 0;
    } catch (err) {
      this.deps.log.warn({ err, conversation: id }, 'chat cursor start failed; delivering from the first message held');
      cursor.last = Math.min(...cursor.pending.keys()) - 1;
    }
    this.#drain(session, id, cursor);
  }

  /** Delivers buffered messages in order; a hole below them is read from the store first. */
  #drain(session: ChatSession, id: string, cursor: Cursor): void {
    cursor.loading = false;
    for (;;) {
      for (const seq of [...cursor.pending.keys()]) if (seq <= cursor.last) cursor.pending.delete(seq);
      const next = cursor.pending.get(cursor.last + 1);
      if (next) {
        cursor.pending.delete(next.seq);
        this.#deliver(session, cursor, next);
        continue;
      }
      if (cursor.pending.size === 0 || session.closed) return;
      const lowest = Math.min(...cursor.pending.keys());
      cursor.loading = true;
      void this.#fill(session, id, cursor, lowest - 1).then(
        () => this.#drain(session, id, cursor),
        (err: unknown) => {
          this.deps.log.warn({ err, conversation: id }, 'chat catch-up read failed; retrying on the next message');
          cursor.loading = false;
        },
      );
      return;
    }
  }

  /** Reads and delivers `(cursor.last, upTo]` from the store, or sends `reload` when that is more than `recoveryMax`. */
  async #fill(session: ChatSession, id: string, cursor: Cursor, upTo: number): Promise<void> {
    if (upTo - cursor.last > this.deps.recoveryMax) {
      this.#reload(session, id, 'too_many');
      cursor.last = upTo;
      return;
    }
    while (cursor.last < upTo && !session.closed) {
      const batch = await this.deps.messages.range(id, cursor.last, upTo, 500);
      if (batch.length === 0) break;
      for (const message of batch) this.#deliver(session, cursor, message);
    }
  }

  #deliver(session: ChatSession, cursor: Cursor, message: ChatMessage): void {
    if (message.seq <= cursor.last) return;
    cursor.last = message.seq;
    this.deps.send(session, JSON.stringify({ type: 'message', data: { message } }));
  }

  #reload(session: ChatSession, id: string, reason: ReloadReason): void {
    this.deps.send(session, JSON.stringify({ type: 'reload', data: { conversation_id: id, reason } }));
  }
}
