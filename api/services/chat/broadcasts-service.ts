import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChatCore } from '../../../shared/chat/chat-core.js';
import { AppError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import type { Broadcast, BroadcastsRepository } from '../../repositories/broadcasts.js';
import type { FollowsRepository } from '../../repositories/follows.js';
import { BroadcastWriter } from './broadcast-writer.js';

export interface BroadcastSettings {
  ratePerSec: number;
  batch: number;
  /** How often an idle worker looks for work (ms). */
  pollMs: number;
  /** Lease of a running broadcast; another process takes it over after this without progress. */
  leaseMs: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => { setTimeout(resolve, ms).unref?.(); });
const yieldLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Host broadcasts: accepted once per `X-Idempotency-Key`, then sent by a background job in
 * batches of followers (resumable by follower id; each batch written by BroadcastWriter, which
 * may redo a batch without storing anything twice), bounded to `ratePerSec` and yielding the
 * event loop between batches so requests and calls go on meanwhile.
 */
export class BroadcastsService {
  #timer: NodeJS.Timeout | undefined;
  #working = false;
  #stopped = false;
  readonly #writer: BroadcastWriter;

  constructor(
    private readonly repo: BroadcastsRepository,
    private readonly follows: FollowsRepository,
    private readonly core: ChatCore,
    private readonly settings: BroadcastSettings,
    private readonly log: Logger,
  ) {
    this.#writer = new BroadcastWriter(core);
  }

  /** Accepts a broadcast; the same key and body return the first one, another body is a conflict. */
  async start(hostId: string, key: string, text: string, at: Date): Promise<{ broadcast: Broadcast; created: boolean }> {
    const bodyHash = createHash('sha256').update(JSON.stringify({ text })).digest('hex');
    const candidate: Broadcast = {
      id: newId(), host_id: hostId, idempotency_key: key, body_hash: bodyHash, text, status: 'queued',
      total: await this.follows.countFollowers(hostId), sent: 0, skipped: 0, cursor: '', lease_until: new Date(0),
      created_at: at, updated_at: at, finished_at: null,
    };
    const result = await this.repo.createOnce(candidate);
    if (!result.created && result.broadcast.body_hash !== bodyHash) {
      throw new AppError('conflict', { message: 'This X-Idempotency-Key was used with another body.' });
    }
    if (result.created) this.kick();
    return result;
  }

  async get(hostId: string, id: string): Promise<Broadcast> {
    const broadcast = await this.repo.get(id);
    if (!broadcast || broadcast.host_id !== hostId) throw new AppError('not_found', { message: 'Broadcast not found.' });
    return broadcast;
  }

  /** Starts the background worker (polls every `pollMs`); `stop()` ends it after the current batch. */
  startWorker(): { stop(): Promise<void> } {
    this.#timer = setInterval(() => this.kick(), this.settings.pollMs);
    this.#timer.unref();
    this.kick();
    return {
      stop: async () => {
        this.#stopped = true;
        clearInterval(this.#timer);
        while (this.#working) await pause(20);
      },
    };
  }

  kick(): void {
    if (this.#working || this.#stopped) return;
    this.#working = true;
    void this.#drain().catch((err: unknown) => this.log.warn({ err }, 'broadcast worker failed; retrying on the next poll')).finally(() => { this.#working = false; });
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const broadcast = await this.repo.claim(new Date(), this.settings.leaseMs);
      if (!broadcast) return;
      await this.#run(broadcast);
    }
  }

  async #run(broadcast: Broadcast): Promise<void> {
    const { batch, ratePerSec, leaseMs } = this.settings;
    let { cursor, sent, skipped } = broadcast;
    // One pass over the follows and one over the host's conversations per run, not one per batch.
    const conversations = await this.core.conversations.allOf(broadcast.host_id);
    let started = Date.now();
    for await (const followers of this.follows.followerIdBatches(broadcast.host_id, cursor, batch)) {
      if (this.#stopped) return;
      const outcome = await this.#writer.write(broadcast, followers, new Date(), conversations);
      sent += outcome.sent;
      skipped += outcome.skipped;
      cursor = followers[followers.length - 1]!;
      const now = new Date();
      await this.repo.progress(broadcast.id, { cursor, sent, skipped, lease_until: new Date(now.getTime() + leaseMs), updated_at: now });
      const minMs = (followers.length / ratePerSec) * 1000;
      const elapsed = Date.now() - started;
      if (elapsed < minMs) await pause(minMs - elapsed);
      else await yieldLoop();
      started = Date.now();
    }
    await this.repo.finish(broadcast.id, new Date());
  }
}

/** A broadcast as its host sees it. */
export function broadcastView(b: Broadcast): Record<string, unknown> {
  return {
    id: b.id, status: b.status, text: b.text, total: b.total, sent: b.sent, skipped: b.skipped,
    created_at: b.created_at.toISOString(), finished_at: b.finished_at ? b.finished_at.toISOString() : null,
  };
}
