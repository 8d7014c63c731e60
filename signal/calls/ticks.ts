import { PEERS } from '../../shared/calls/index.js';
import { DeadlineWheel } from '../deadline-wheel.js';
import type { RoomJobs, RoomsContext } from './context.js';
import type { CallSnapshot, Room } from './room.js';
import { inBatches } from './write-behind.js';

/** Resolution of the billing-tick wheel (ms): a tick is emitted at the first sweep at least this long after its minute. */
export const TICK_WHEEL_RESOLUTION_MS = 100;
/** Billing-tick claims sent to the directory in one call. */
export const TICK_CLAIM_BATCH = 500;

/**
 * Billing ticks: each active call with a socket on this node waits on a wheel under the end of its
 * next minute; a sweep claims the minutes due (one node wins each cluster-wide) and emits `tick`.
 * Minutes count from the call's media-up time (`mediaUpAt`); an active call without one waits
 * under the end of the media report grace, when its clock is started at `active` (see Media).
 */
export class Ticks {
  /** Active calls with a socket here, each under the time its next billing tick is due. */
  readonly #wheel: DeadlineWheel<Room>;

  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {
    this.#wheel = new DeadlineWheel<Room>(TICK_WHEEL_RESOLUTION_MS, ctx.now());
    ctx.onForget((room) => this.#wheel.cancel(room));
  }

  /**
   * Sets a new room's last claimed minute: minutes no node claimed because none held a participant
   * then (both dropped, or their node died or drained across a minute's end) are claimed from here, `late`.
   */
  initRoom(room: Room, call: CallSnapshot): void {
    const { tickMs, tickCatchUpMs } = this.ctx.settings;
    if (call.status === 'active' && call.mediaUpAt !== null) room.lastTick = Math.max(0, Math.floor((this.ctx.now() - call.mediaUpAt - tickCatchUpMs) / tickMs));
  }

  /** The call became active as this node saw it: its clock waits for media-up (or the grace). */
  activated(room: Room): void {
    this.schedule(room);
  }

  /** The call's media-up time became known here: its minutes count from it, those already over included. */
  clockStarted(room: Room): void {
    this.initRoom(room, room.call);
    this.schedule(room);
  }

  /** Files an active room with a socket here under its next billing tick, or the end of its media report grace (sooner if it was filed later). */
  schedule(room: Room): void {
    const { answeredAt, mediaUpAt } = room.call;
    if (!this.#ticksHere(room) || answeredAt === null) return;
    const at = mediaUpAt === null ? answeredAt + this.ctx.settings.mediaReportGraceMs : mediaUpAt + (room.lastTick + 1) * this.ctx.settings.tickMs;
    this.#wheel.scheduleNoLaterThan(room, at);
  }

  /**
   * Claims and emits the billing ticks due on this node's active calls, TICK_CLAIM_BATCH claims
   * per directory round trip. A call's ticks are claimed and emitted in minute order; when the
   * directory fails, this sweep claims nothing more (so no later minute is claimed before an
   * earlier one) and the unclaimed ticks are claimed at the next sweep.
   */
  async sweep(t: number): Promise<void> {
    const { tickMs, tickDeferMs, mediaReportGraceMs } = this.ctx.settings;
    const due: Array<{ room: Room; minute: number }> = [];
    const rooms = this.#wheel.takeDue(t);
    for (const room of rooms) {
      const { call } = room;
      if (!this.#ticksHere(room) || call.answeredAt === null) continue;
      if (call.mediaUpAt === null) {
        if (t >= call.answeredAt + mediaReportGraceMs) this.jobs.media.graceOver(room);
        continue;
      }
      const last = Math.floor((t - call.mediaUpAt) / tickMs);
      for (let minute = room.lastTick + 1; minute <= last; minute += 1) {
        // Ended before this node held the call, and recently: the node that held it claims it first.
        const end = call.mediaUpAt + minute * tickMs;
        if (end < room.heldSince && t < end + tickDeferMs + TICK_WHEEL_RESOLUTION_MS) break;
        due.push({ room, minute });
      }
    }
    try {
      for (const current of inBatches(due, TICK_CLAIM_BATCH)) {
        const won = await this.ctx.ledger.claimTicks(current.map(({ room, minute }) => ({ callId: room.callId, minute })));
        current.forEach(({ room, minute }, i) => {
          if (minute !== room.lastTick + 1) return;
          room.lastTick = minute;
          if (won[i]) this.#emit(room, minute);
        });
      }
    } catch {
      // Claimed nothing more this sweep; the rooms come due again at once, their minutes unclaimed.
    }
    for (const room of rooms) this.schedule(room);
  }

  /** True while this node takes part in claiming `room`'s billing ticks: the call is active and has a socket here. */
  #ticksHere(room: Room): boolean {
    return room.call.status === 'active' && room.call.answeredAt !== null && room.live.size > 0 && this.ctx.isCurrent(room);
  }

  #emit(room: Room, minute: number): void {
    const { call } = room;
    const { log, events, nodeId } = this.ctx.deps;
    if (call.mediaUpAt === null) return;
    const at = call.mediaUpAt + minute * this.ctx.settings.tickMs;
    // A late minute ended while this node held no participant: none is known to have been connected.
    const late = at < room.heldSince;
    const reconnecting = late ? [...PEERS] : PEERS.filter((p) => !room.live.has(p) && room.remote.get(p)?.state !== 'connected');
    log.info({ call: room.callId, minute, reconnecting, late }, 'call tick');
    events.emit('tick', { callId: room.callId, minute, at: new Date(at), node: nodeId, hostId: call.hostId, guestId: call.guestId, reconnecting, late });
  }
}
