import type { PendingFrames } from './directory.js';
import type { RoomsContext } from './context.js';
import type { Participant } from './room.js';

/**
 * Peers whose pending replay frames go to the directory in one call. Each call is one Lua script,
 * which holds Redis for its whole run (~9 µs per peer): 50 keeps a cross-node frame's PUBLISH from
 * waiting behind one for more than about 0.4 ms.
 */
export const WRITE_BEHIND_BATCH = 50;

/** `items` in consecutive slices of at most `size`. */
export function inBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The replay write-behind: frames sent to a participant are written to its replay buffer in the
 * directory in the background, in batches, never on the relay's path.
 */
export class WriteBehind {
  /** The flush in progress (at most one at a time, so a peer's frames reach the directory in order). */
  #flushing: Promise<void> | undefined;

  /** Participants holding frames not yet written (the context's work list: the relay adds to it). */
  readonly unpersisted: Set<Participant>;

  constructor(private readonly ctx: RoomsContext) {
    this.unpersisted = ctx.unpersisted;
  }

  /**
   * Writes the frames delivered since the last flush to the peers' replay buffers (run every
   * `SIGNAL_REPLAY_FLUSH_MS`). Flushes never overlap, so a peer's frames reach Redis in order.
   */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    this.#flushing = this.#write(true).finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Waits for a flush in progress, then writes what is left once (failures are not kept). */
  async settle(): Promise<void> {
    await this.#flushing;
    await this.#write(false);
  }

  /**
   * Writes the pending frames of every live participant that has some (the `unpersisted` set, so
   * idle sockets cost nothing), WRITE_BEHIND_BATCH peers per directory call, one call at a time,
   * so a node with thousands of busy sockets neither floods Redis nor stalls its event loop.
   * `keepOnFailure` puts a failed batch back for the next flush.
   */
  async #write(keepOnFailure: boolean): Promise<void> {
    const work: Array<PendingFrames & { participant: Participant }> = [];
    for (const participant of this.unpersisted) {
      this.unpersisted.delete(participant);
      const { callId, peer } = participant.session;
      if (!participant.pending?.length || this.ctx.rooms.get(callId)?.live.get(peer) !== participant) continue;
      const frames = participant.takePending();
      participant.writing = frames;
      work.push({ callId, peer, frames, participant });
    }
    for (const current of inBatches(work, WRITE_BEHIND_BATCH)) {
      const written = await this.ctx.replay.record(current).then(() => true, () => false);
      for (const { participant, frames } of current) {
        // A socket that closed or was replaced meanwhile took these frames (takeUnwritten).
        if (participant.writing !== frames) continue;
        participant.writing = undefined;
        if (written || !keepOnFailure) continue;
        participant.pending = [...frames, ...(participant.pending ?? [])];
        this.unpersisted.add(participant);
      }
    }
  }
}
