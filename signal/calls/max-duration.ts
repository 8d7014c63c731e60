import { encodeSequenced } from '../../shared/protocol/index.js';
import { DeadlineWheel, type WheelEntry } from '../deadline-wheel.js';
import type { RoomJobs, RoomsContext } from './context.js';
import type { CallSnapshot, Participant, Room } from './room.js';

/** Resolution of the maximum-duration wheel (ms): a call ends at the first sweep at least this long after its deadline. */
export const MAX_DURATION_WHEEL_RESOLUTION_MS = 100;

/** A room's place on the maximum-duration wheel (the room's own `wheelSlot` is the tick wheel's). */
class Deadline implements WheelEntry {
  wheelSlot = -1;
  constructor(readonly room: Room) {}
}

/**
 * The maximum duration of a call: an active call ends `max_duration` once its stored
 * `max_duration_sec` (or `CALL_MAX_DURATION_SEC` when it has none) has passed since it became
 * active. Every node holding a participant waits for the deadline on a wheel and tries the atomic
 * transition at the first sweep past it (one wins, every node pushes the final `call-state`); a
 * node that starts holding the call only later (its holder died, the peers moved) files it when
 * the participant joins, so an overdue call ends at that node's next sweep. One billing minute
 * (`SIGNAL_TICK_MS`) before the end, each node sends `call-ending` to its own sockets of the call
 * (once per socket: one that joins later within that minute gets it at the next sweep).
 */
export class MaxDuration {
  readonly #wheel: DeadlineWheel<Deadline>;
  readonly #deadlines = new Map<Room, Deadline>();
  /** Calls this node is ending (one attempt at a time). */
  readonly #ending = new Set<string>();
  /** Sockets sent `call-ending`. */
  readonly #warned = new WeakSet<Participant>();

  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {
    this.#wheel = new DeadlineWheel<Deadline>(MAX_DURATION_WHEEL_RESOLUTION_MS, ctx.now());
    ctx.onForget((room) => {
      const deadline = this.#deadlines.get(room);
      if (deadline) this.#wheel.cancel(deadline);
      this.#deadlines.delete(room);
    });
  }

  /** When the call must end (ms since the epoch), or null while it is not active. */
  deadlineOf(call: CallSnapshot): number | null {
    if (call.status !== 'active' || call.answeredAt === null) return null;
    return call.answeredAt + (call.maxDurationSec ?? this.ctx.settings.maxDurationSec) * 1000;
  }

  /**
   * Files an active room with a socket here under its next step: the warning while a socket here
   * has not had it, else the end (no-op for other rooms; safe to repeat).
   */
  schedule(room: Room): void {
    const at = this.deadlineOf(room.call);
    if (at === null || room.live.size === 0 || !this.ctx.isCurrent(room)) return;
    let deadline = this.#deadlines.get(room);
    if (!deadline) {
      deadline = new Deadline(room);
      this.#deadlines.set(room, deadline);
    }
    const now = this.ctx.now();
    const warnAt = at - this.ctx.settings.tickMs;
    this.#wheel.schedule(deadline, now < at && this.#unwarned(room) ? Math.max(now, warnAt) : at);
  }

  /** Warns, and ends (in the background), the calls held here whose warning or end is due. */
  sweep(t: number): void {
    for (const { room } of this.#wheel.takeDue(t)) {
      const at = this.deadlineOf(room.call);
      if (at === null || room.live.size === 0 || !this.ctx.isCurrent(room)) continue;
      if (at <= t) {
        this.ctx.track(this.#end(room, at));
        continue;
      }
      if (t >= at - this.ctx.settings.tickMs) this.#warn(room, at);
      this.schedule(room);
    }
  }

  #unwarned(room: Room): boolean {
    for (const participant of room.live.values()) if (!this.#warned.has(participant)) return true;
    return false;
  }

  /** Sends `call-ending` to the sockets of `room` here that have not had it. */
  #warn(room: Room, at: number): void {
    const frame = encodeSequenced('call-ending', { reason: 'max_duration', ends_at: at });
    for (const participant of room.live.values()) {
      if (this.#warned.has(participant)) continue;
      this.#warned.add(participant);
      this.jobs.relay.deliver(participant, frame, Number.NaN);
    }
  }

  /**
   * Ends the call as of its deadline `at` (its `ended_at`), however late a node gets to it: a
   * minute that ended after it is then never billed (`after_end`, docs/payments.md).
   */
  async #end(room: Room, at: number): Promise<void> {
    if (this.#ending.has(room.callId)) return;
    this.#ending.add(room.callId);
    this.ctx.deps.log.info({ call: room.callId, max_duration_sec: room.call.maxDurationSec ?? this.ctx.settings.maxDurationSec }, 'call reached its maximum duration');
    try {
      await this.jobs.lifecycle.transition(room.callId, 'ended', 'max_duration', new Date(at));
    } finally {
      this.#ending.delete(room.callId);
    }
    // Not made and still active here (storage kept failing): the next sweep tries again.
    if (this.ctx.isCurrent(room) && room.call.status === 'active') this.schedule(room);
  }
}
