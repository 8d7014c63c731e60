import type { CallFunding, FundingSource } from '../../shared/billing/index.js';
import { encodeSequenced } from '../../shared/protocol/index.js';
import type { CallEventMap } from './events.js';
import type { RoomJobs, RoomsContext } from './context.js';
import type { Room } from './room.js';

/** Paid minutes left at which the guest is warned again (besides when the hold is found exhausted). */
export const LAST_MINUTE_WARNING = 1;

/** What this node knows about the funding of a paid call it emits ticks for. */
interface RoomFunding {
  /** No funding record: a free call (a paid call's record is written before the call exists). */
  free: boolean;
  /** A read of the funding record is in flight (ticks meanwhile only raise `minute`). */
  reading: boolean;
  /** Highest minute this node emitted a tick for. */
  minute: number;
  /** Minutes this node emitted with a peer reconnecting: billing does not count them. */
  unbillable: Set<number>;
  warnedExhausted: boolean;
  warnedLastMinute: boolean;
  ending: boolean;
}

/**
 * Paid minutes left at the end of `minute`: the funding record's count, less the minutes after
 * the last one billing applied that it will bill (all but those known to have had a peer
 * reconnecting). While the hold is not exhausted, billing may still extend it as it applies those
 * minutes, so only the record's own count is trusted then.
 */
export function paidMinutesLeft(funding: CallFunding, minute: number, unbillable: ReadonlySet<number>): number {
  if (!funding.exhausted) return funding.paidMinutesLeft;
  let unapplied = 0;
  for (let m = funding.throughMinute + 1; m <= minute; m += 1) if (!unbillable.has(m)) unapplied += 1;
  return funding.paidMinutesLeft - unapplied;
}

/**
 * Running out of paid minutes: after each billing tick this node emits for a call (exactly one
 * node emits each minute, so one read per call-minute cluster-wide) it reads the call's funding,
 * which the API's billing worker keeps in MongoDB (works alike with or without Redis, on any
 * node). When the hold is found exhausted the guest gets `funds-low` with the paid minutes left,
 * and again at one; at zero the call ends `insufficient_funds` through the atomic transition, so
 * exactly one node ends it and every node pushes the final `call-state`.
 */
export class Funding {
  readonly #state = new Map<Room, RoomFunding>();

  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {
    ctx.deps.events.on('tick', (tick) => {
      if (tick.node === ctx.nodeId) this.ticked(tick);
    });
    ctx.onForget((room) => this.#state.delete(room));
  }

  /** A tick this node emitted: checks the call's funding unless it is free or a check is running. */
  ticked(tick: CallEventMap['tick']): void {
    const source = this.ctx.deps.funding;
    const room = this.ctx.rooms.get(tick.callId);
    if (!source || !room || room.call.status !== 'active') return;
    let state = this.#state.get(room);
    if (!state) {
      state = { free: false, reading: false, minute: 0, unbillable: new Set(), warnedExhausted: false, warnedLastMinute: false, ending: false };
      this.#state.set(room, state);
    }
    state.minute = Math.max(state.minute, tick.minute);
    if (tick.reconnecting.length > 0) state.unbillable.add(tick.minute);
    if (state.free || state.reading || state.ending) return;
    state.reading = true;
    const check = this.#check(source, room, state).finally(() => { state.reading = false; });
    this.ctx.track(check);
  }

  async #check(source: FundingSource, room: Room, state: RoomFunding): Promise<void> {
    const { log } = this.ctx.deps;
    let funding: CallFunding | null;
    try {
      funding = await source.get(room.callId);
    } catch (err) {
      log.warn({ err, call: room.callId }, 'call funding unavailable; checked again at the next tick');
      return;
    }
    if (!funding) {
      state.free = true;
      return;
    }
    if (!this.ctx.isCurrent(room) || room.call.status !== 'active') return;
    for (const m of state.unbillable) if (m <= funding.throughMinute) state.unbillable.delete(m);
    const left = paidMinutesLeft(funding, state.minute, state.unbillable);
    if (left <= 0) return this.#end(room, state, funding);
    const lastMinute = left <= LAST_MINUTE_WARNING && !state.warnedLastMinute;
    if ((funding.exhausted && !state.warnedExhausted) || lastMinute) {
      state.warnedExhausted ||= funding.exhausted;
      state.warnedLastMinute ||= lastMinute;
      log.info({ call: room.callId, minute: state.minute, left, exhausted: funding.exhausted }, 'guest warned: paid minutes running out');
      void this.jobs.relay.route(room.callId, 'guest', encodeSequenced('funds-low', { paid_minutes_left: left }));
    }
  }

  async #end(room: Room, state: RoomFunding, funding: CallFunding): Promise<void> {
    state.ending = true;
    this.ctx.deps.log.info({ call: room.callId, minute: state.minute, through: funding.throughMinute, exhausted: funding.exhausted }, 'call out of paid minutes');
    try {
      // Not made (storage down, or another node ended it first): the next tick checks again.
      await this.jobs.lifecycle.transition(room.callId, 'ended', 'insufficient_funds');
    } finally {
      state.ending = false;
    }
  }
}
