import type { ChatCore } from '../../../shared/chat/chat-core.js';
import { messageFromDocument, type MessageDocument } from '../../../shared/chat/mongo-messages.js';
import { AppError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';

/** Followers sent one by one at once (the ones a batch write could not place). */
const ONE_BY_ONE_PARALLEL = 8;

/** What a broadcast batch needs to know about its broadcast. */
export interface BroadcastBatch {
  id: string;
  host_id: string;
  text: string;
}

/** One follower's planned message. */
interface Planned { follower: string; conversationId: string; isNew: boolean; doc: MessageDocument }

/**
 * Writes one broadcast message into each follower's conversation with the host, a batch at a
 * time, in a handful of storage commands instead of several per follower (FerretDB answers one
 * command in milliseconds, whatever its size): the blocks are read once per batch, the host's
 * conversations once per run (kept current here), the conversations that hold this broadcast
 * already (a batch redone) in one query, every message is inserted in one unordered `insertMany` at its
 * conversation's seq hint + 1 (new conversations: seq 1, the conversation created right after
 * its message), and the conversations advanced by one `updateMany` per seq. A message the
 * unique indexes refuse (the hint was stale, or the batch is being redone after a crash and the
 * client key `bc:<broadcast id>` is there already) goes the one-by-one way of `ChatCore.send`,
 * which finds the right seq or returns the stored copy. So nothing is stored twice and the seq
 * has no gap. Only the follower is told live: the host's sockets would get one frame per
 * follower (they see the messages in history, or when the conversation moves next).
 */
export class BroadcastWriter {
  constructor(private readonly core: ChatCore) {}

  /** Returns how many followers got the message (now or before) and how many were skipped (a block either way). */
  /**
   * `existing`: the host's conversations (other member → id and seq hint), read once per run by
   * the caller; this keeps it current with what the batch writes.
   */
  async write(broadcast: BroadcastBatch, followers: readonly string[], at: Date, existing: Map<string, { id: string; lastSeq: number }>): Promise<{ sent: number; skipped: number }> {
    const { core } = this;
    const host = broadcast.host_id;
    const clientId = `bc:${broadcast.id}`;
    const blocked = await core.blocks.involving(host);
    const reachable = followers.filter((f) => f !== host && !blocked.has(f));
    let skipped = followers.length - reachable.length;
    // A batch redone (after a crash, or by a second process) finds its earlier copies in one query.
    const done = await core.messages.conversationsWithClientKey(`${host}:${clientId}`, reachable.flatMap((f) => existing.get(f)?.id ?? []));
    const targets = reachable.filter((f) => !done.has(existing.get(f)?.id ?? ''));
    const planned: Planned[] = targets.map((follower) => {
      const conversation = existing.get(follower);
      const conversationId = conversation?.id ?? newId();
      const id = newId();
      return {
        follower, conversationId, isNew: !conversation,
        doc: {
          _id: id, conversation_id: conversationId, seq: (conversation?.lastSeq ?? 0) + 1, sender_id: host, kind: 'text', text: broadcast.text,
          image_id: null, client_id: clientId, client_key: `${host}:${clientId}`, created_at: at,
        },
      };
    });
    const refused = await core.messages.insertManyNew(planned.map((p) => p.doc));
    const stored = planned.filter((_, i) => !refused.has(i));
    const oneByOne = planned.filter((_, i) => refused.has(i));

    const created = stored.filter((p) => p.isNew);
    const raced = await core.conversations.createMany(host, created.map((p) => ({ other: p.follower, id: p.conversationId, lastSeq: p.doc.seq })), at);
    const orphans = created.filter((p) => raced.has(p.follower));
    await core.messages.deleteIds(orphans.map((p) => p.doc._id));
    oneByOne.push(...orphans);
    const delivered = stored.filter((p) => !(p.isNew && raced.has(p.follower)));
    for (const p of delivered) existing.set(p.follower, { id: p.conversationId, lastSeq: p.doc.seq });

    const bySeq = new Map<number, string[]>();
    for (const p of delivered) if (!p.isNew) bySeq.set(p.doc.seq, [...(bySeq.get(p.doc.seq) ?? []), p.conversationId]);
    for (const [seq, ids] of bySeq) await core.conversations.advanceMany(ids, seq, at);
    await Promise.all(delivered.map((p) => core.notifier.notify([p.follower], { t: 'message', message: messageFromDocument(p.doc) })));

    let sent = reachable.length - targets.length + delivered.length;
    for (let i = 0; i < oneByOne.length; i += ONE_BY_ONE_PARALLEL) {
      const results = await Promise.all(oneByOne.slice(i, i + ONE_BY_ONE_PARALLEL).map((p) => this.#sendOne(broadcast, p.follower, clientId)));
      for (const ok of results) if (ok) sent += 1; else skipped += 1;
    }
    return { sent, skipped };
  }

  /** One follower the slow way; false when it cannot be delivered (a block either way). */
  async #sendOne(broadcast: BroadcastBatch, follower: string, clientId: string): Promise<boolean> {
    try {
      const { conversation } = await this.core.conversations.findOrCreate(broadcast.host_id, follower, new Date());
      await this.core.send({ conversationId: conversation.id, senderId: broadcast.host_id, clientId, text: broadcast.text, at: new Date() });
      return true;
    } catch (err) {
      if (err instanceof AppError && (err.code === 'forbidden' || err.code === 'not_found')) return false;
      throw err;
    }
  }
}
