import type { Call, CallStatus } from '../../shared/calls/index.js';
import type { CallStateData, PeerState } from '../../shared/protocol/index.js';
import type { WheelEntry } from '../deadline-wheel.js';
import type { Session } from '../session/session.js';
import { TypedEmitter } from '../typed-emitter.js';

/** What a local room knows about its call. */
export interface CallSnapshot {
  status: CallStatus;
  endReason: string | null;
  version: number;
  answeredAt: number | null;
  /** When media came up: the billing clock's origin (null: not yet; docs/payments.md "When the clock runs"). */
  mediaUpAt: number | null;
  hostId: string;
  guestId: string;
  /** The call's stored maximum duration (s); absent or null: the node's `CALL_MAX_DURATION_SEC`. */
  maxDurationSec?: number | null;
}

export function snapshotOf(call: Call): CallSnapshot {
  return {
    status: call.status, endReason: call.end_reason, version: call.version,
    answeredAt: call.answered_at ? call.answered_at.getTime() : null, mediaUpAt: call.media_up_at ? call.media_up_at.getTime() : null,
    hostId: call.host_id, guestId: call.guest_id,
    maxDurationSec: call.max_duration_sec,
  };
}

export function stateData(callId: string, call: CallSnapshot): CallStateData {
  return { call_id: callId, status: call.status, end_reason: call.endReason, version: call.version };
}

/** True while a call has not been answered yet (`waiting` or `ringing`). */
export function awaitsAnswer(status: CallStatus): boolean {
  return status === 'waiting' || status === 'ringing';
}

/** A frame body waiting to be sequenced and sent (while joining, or held for a handover). */
export interface Queued {
  body: string;
  t0: number;
}

/** A peer whose socket on this node closed and that is in its grace period. */
export interface Dormant {
  seq: number;
  /**
   * The frames the write-behind had not yet persisted when the socket closed (the `leave`
   * persists them): a resume on this node replays them even when the directory cannot.
   */
  unflushed: string[];
  /** True once the `leave` failed: `unflushed` is then in no replay buffer yet. */
  leaveFailed: boolean;
  /** End of the peer's grace period (ms since the epoch); used only while the directory is unreachable. */
  deadline: number;
  /** The closed socket's id (its leave may still be waiting for the directory). */
  conn: string;
}

/**
 * A peer's socket in a room on this node: what the room keeps per socket (its sequence counter,
 * frames awaiting write-behind, a handover in progress, replies owed to `hangup`). The socket's
 * connection concerns (limits, deadlines, token) stay on its `Session`.
 */
export class Participant {
  /** Last sequence number sent to this peer. */
  seq = 0;
  /** True once a newer socket of the same peer took over; its close changes nothing. */
  replaced = false;
  /**
   * Sequenced frames not yet written to the replay buffer in the directory (the write-behind
   * takes them every flush; while Redis is down they stay, bounded, and serve a resume here).
   */
  pending: string[] | undefined;
  /** Frames the write-behind has taken and not yet seen written (they may or may not be in Redis). */
  writing: string[] | undefined;
  /**
   * Set by a `join` that replaced a socket on another node: the frames that node sends back (`r`)
   * are delivered if above the join's `last_seq`, in the old numbering (up to `upTo`, where this
   * socket's starts) and not in its replay. Cleared when they arrive.
   */
  handover: { after: number; upTo: number; replayed: Set<number> } | undefined;
  /**
   * Frame bodies that arrived while joining, or while a join that replaced a socket on another
   * node waits for its handed-back frames (`holdTimer` set); sent, sequenced, after them.
   */
  queued: Queued[] | undefined = [];
  /** Ends the wait for handed-back frames if they never come. */
  holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** Replies owed to `hangup` requests in flight: sent once the call is over (made on the first hangup: idle sockets hold none). */
  hangupAcks: Set<() => void> | undefined;

  constructor(readonly session: Session) {}

  get peer(): string {
    return this.session.peer;
  }

  get conn(): string {
    return this.session.conn;
  }

  /**
   * Remembers a sequenced frame for the write-behind (bounded by `limit`). Frames are kept only
   * until they are persisted: a copy per socket for its whole life would make every frame
   * survive into the old generation, and the garbage collector's copying of it stalls relaying.
   */
  remember(frame: string, limit: number): void {
    const pending = (this.pending ??= []);
    pending.push(frame);
    if (pending.length > limit * 2) pending.splice(0, pending.length - limit);
  }

  /** Takes the frames awaiting write-behind. */
  takePending(): string[] {
    const frames = this.pending ?? [];
    this.pending = undefined;
    return frames;
  }

  /**
   * Takes every frame not known to be in the replay buffer, in seq order: those of an unfinished
   * write, then those awaiting one (for a socket that is closing or being replaced).
   */
  takeUnwritten(): string[] {
    const frames = this.writing ? [...this.writing, ...this.takePending()] : this.takePending();
    this.writing = undefined;
    return frames;
  }

  /** Ends a handover hold: the frames it held, for the caller to deliver (none when there was no hold). */
  takeHeld(): Queued[] {
    if (!this.holdTimer) return [];
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const held = this.queued ?? [];
    this.queued = undefined;
    return held;
  }

  /** Stops the participant's timer (the room dropped it). Safe to call twice. */
  close(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }
}

/** Events of one room on this node. */
export interface RoomEventMap {
  /** The room was dropped from this node's bookkeeping (its participants with it). */
  close: { callId: string };
}

/** A call as one node sees it: its local participants, peers dropped here, and where the others are. */
export class Room implements WheelEntry {
  readonly live = new Map<string, Participant>();
  readonly dormant = new Map<string, Dormant>();
  readonly remote = new Map<string, { node: string; state: PeerState }>();
  /** Last billing minute claimed (or given up) here. */
  lastTick = 0;
  /** A `connected` media report that came before the call was active here: it starts the clock at `active`. */
  mediaReport: { peer: string; at: number } | undefined;
  idleSince = 0;
  /** When this node last went from no socket of the room to one: a tick of an earlier minute is `late`. */
  heldSince = 0;
  /** Slot on the billing-tick wheel (the wheel's bookkeeping). */
  wheelSlot = -1;
  #closed = false;
  #events: TypedEmitter<RoomEventMap> | undefined;

  constructor(readonly callId: string, public call: CallSnapshot) {}

  /** The room's typed events (made on first use: most rooms have no listener, and a node holds thousands). */
  get events(): TypedEmitter<RoomEventMap> {
    return (this.#events ??= new TypedEmitter<RoomEventMap>());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Drops the room's participants and tells listeners; the sockets themselves are closed by their owner. Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const participant of this.live.values()) participant.close();
    this.#events?.emit('close', { callId: this.callId });
    this.#events?.clear();
  }
}
