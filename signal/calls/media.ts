import { randomUUID } from 'node:crypto';
import { announcementOf, isTerminal, type Party, type TransitionResult } from '../../shared/calls/index.js';
import { AppError } from '../../shared/errors/index.js';
import { ackFrame, type MediaState } from '../../shared/protocol/index.js';
import type { Session } from '../session/session.js';
import type { RoomJobs, RoomsContext } from './context.js';
import { STORAGE_RETRY_DELAYS_MS, isFinalStorageError, withRetry } from './retry.js';
import { snapshotOf, type Room } from './room.js';

/**
 * `media-state` and the start of the billing clock (docs/payments.md "When the clock runs"): the
 * first `connected` report of either peer within `mediaReportGraceMs` after `active` is the
 * call's media-up time (a report before `active` counts as `active`); when none came within the
 * grace, media-up is `active` itself (`by: system`). It is written once through the CallStore
 * (`markMediaUp`: of concurrent writers on any nodes exactly one wins), announced on the calls
 * channel like a transition, and every node's ticks count from it.
 */
export class Media {
  /** Rooms whose media-up write is in flight (one at a time per room). */
  readonly #writing = new Set<Room>();

  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {
    ctx.onForget((room) => this.#writing.delete(room));
  }

  /** Handles `media-state` from a joined peer: a `connected` may start the clock; replies `ack` (when the frame has an `id`). */
  report(session: Session, state: MediaState, id: string | undefined): void {
    const room = this.ctx.rooms.get(session.callId);
    this.ctx.deps.log.info({ call: session.callId, peer: session.peer, state }, 'media state');
    if (room && state === 'connected' && room.call.mediaUpAt === null && !isTerminal(room.call.status)) {
      room.mediaReport ??= { peer: session.peer, at: this.ctx.now() };
      if (room.call.status === 'active') this.#start(room);
    }
    if (id) this.jobs.relay.send(session, ackFrame(id), 'ack');
  }

  /** The call became active as this node saw it: a report that came before starts the clock now. */
  activated(room: Room): void {
    if (room.mediaReport) this.#start(room);
  }

  /** The media report grace of an active call without media-up ended (the ticks' sweep saw it): start its clock. */
  graceOver(room: Room): void {
    this.#start(room);
  }

  /** Writes the media-up time the rule gives, if it gives one yet; nothing while a write of this room is in flight. */
  #start(room: Room): void {
    const { answeredAt, mediaUpAt, status } = room.call;
    if (status !== 'active' || answeredAt === null || mediaUpAt !== null || this.#writing.has(room)) return;
    const graceEnd = answeredAt + this.ctx.settings.mediaReportGraceMs;
    const report = room.mediaReport;
    let origin: { at: number; by: Party };
    if (report && report.at <= graceEnd) origin = { at: Math.max(report.at, answeredAt), by: report.peer as Party };
    else if (this.ctx.now() >= graceEnd) origin = { at: answeredAt, by: 'system' };
    else return;
    this.#writing.add(room);
    const work = this.#write(room, origin).finally(() => this.#writing.delete(room));
    this.ctx.track(work);
  }

  async #write(room: Room, origin: { at: number; by: Party }): Promise<void> {
    const { callId } = room;
    const { store, log } = this.ctx.deps;
    const options = { at: new Date(origin.at), by: origin.by, key: randomUUID() };
    let result: TransitionResult;
    try {
      result = await withRetry(() => store.markMediaUp(callId, options), {
        delaysMs: STORAGE_RETRY_DELAYS_MS,
        isFinal: isFinalStorageError,
        onRetry: (err: unknown, attempt: number) => log.warn({ err, call: callId, operation: 'media up', attempt }, 'call storage failed; retrying'),
      });
    } catch (err) {
      // Over or gone: take the stored state. Storage down: the ticks' sweep asks again (the report is kept).
      if (err instanceof AppError) await this.jobs.lifecycle.refreshCall(callId);
      else log.error({ err, call: callId }, 'media-up write failed');
      return;
    }
    if (result.changed) this.#announce(result);
    this.jobs.lifecycle.applyCall(callId, snapshotOf(result.call));
  }

  /** Tells billing and the other nodes (only the writer that won does). */
  #announce({ call }: TransitionResult): void {
    const { log, events, nodeId, broker, metrics } = this.ctx.deps;
    const at = call.media_up_at!;
    log.info({ call: call.id, at: at.toISOString(), by: call.media_up_by, version: call.version }, 'media up');
    events.emit('media-up', { callId: call.id, at, by: call.media_up_by!, node: nodeId });
    broker.publish(this.jobs.lifecycle.callsChannel, JSON.stringify(announcementOf(call))).catch(() => metrics.publishFailures.inc());
  }
}

