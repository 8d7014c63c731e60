import type { FundingSource } from '../../shared/billing/index.js';
import type { CallLookup, CallStore } from '../../shared/calls/index.js';
import type { IceConfig } from '../../shared/ice/turn.js';
import type { Logger } from '../../shared/runtime/logger.js';
import type { Broker } from '../broker/index.js';
import type { SignalMetrics } from '../metrics.js';
import type { GraceLeases, MemberRecord, Membership, ReplayStore, RoomDirectory, TickLedger } from './directory.js';
import type { CallEvents } from './events.js';
import type { Grace } from './grace.js';
import type { Handover } from './handover.js';
import type { Funding } from './funding.js';
import type { Lifecycle } from './lifecycle.js';
import type { Media } from './media.js';
import type { MaxDuration } from './max-duration.js';
import type { Relay } from './relay.js';
import { Room, type CallSnapshot, type Participant } from './room.js';
import type { Ticks } from './ticks.js';
import type { WriteBehind } from './write-behind.js';

/** Limits and timings the rooms need (a slice of `config.signal`), and `config.calls.ice`. */
export interface RoomSettings {
  reconnectGraceMs: number;
  replayBuffer: number;
  tickMs: number;
  /**
   * How far back a room this node starts holding claims the billing ticks of an active call that
   * no node claimed: the longest an active call can go with no node holding a participant
   * (reconnect grace plus dead-node detection). Must stay below the tick claims' lifetime, or a
   * minute claimed long ago could be claimed and emitted again.
   */
  tickCatchUpMs: number;
  /**
   * How long after a minute's end (plus the tick wheel's resolution) a node that started holding
   * the call only after it waits before claiming it: time for a node that held a participant then
   * to claim it first (at its next sweep), so the minute is flagged `late` only when no node did.
   */
  tickDeferMs: number;
  /**
   * Billing minutes count from the first `connected` media report; when none came within this long
   * after `active`, from `active` (docs/payments.md "When the clock runs").
   */
  mediaReportGraceMs: number;
  /** Maximum duration of an active call whose stored call has none (`CALL_MAX_DURATION_SEC`). */
  maxDurationSec: number;
  /** STUN/TURN for the `join` reply: TURN credentials per user, expiring as the calls API's do. */
  ice: IceConfig;
}

/** What the rooms of a node are built from (`signal/main.ts` picks the implementations). */
export interface RoomsDeps {
  nodeId: string;
  prefix: string;
  store: CallStore;
  /**
   * Where `join` finds the call: a cache written by every writer of calls (see `CachedCallStore`),
   * the store on a miss. Without it, `join` reads the store.
   */
  lookup?: CallLookup;
  directory: RoomDirectory;
  broker: Broker;
  events: CallEvents;
  metrics: SignalMetrics;
  settings: RoomSettings;
  log: Logger;
  /** Paid minutes left per call (`call_funding`); none: calls never end for lack of funds. */
  funding?: FundingSource;
  /** Wall clock (ms since the epoch); injectable for tests with fake time. */
  now?: () => number;
}

/**
 * The rooms of one node and what every job module shares: the dependencies, the room registry
 * and the background work still in flight. Holds no behaviour beyond bookkeeping.
 */
export class RoomsContext {
  readonly rooms = new Map<string, Room>();
  /** Rooms with no socket on this node (the sweep forgets them after a while). */
  readonly idleRooms = new Set<Room>();
  /** Participants holding frames not yet written to their replay buffer (the write-behind's work list). */
  readonly unpersisted = new Set<Participant>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #onForget: Array<(room: Room) => void> = [];
  readonly now: () => number;

  constructor(readonly deps: RoomsDeps) {
    this.now = deps.now ?? Date.now;
  }

  get nodeId(): string {
    return this.deps.nodeId;
  }

  get settings(): RoomSettings {
    return this.deps.settings;
  }

  /** The directory's membership port. */
  get membership(): Membership {
    return this.deps.directory;
  }

  /** The directory's replay port. */
  get replay(): ReplayStore {
    return this.deps.directory;
  }

  /** The directory's grace-lease port. */
  get leases(): GraceLeases {
    return this.deps.directory;
  }

  /** The directory's tick-ledger port. */
  get ledger(): TickLedger {
    return this.deps.directory;
  }

  /** The local room of `callId`, created with `call` (and `init`) when there is none. */
  room(callId: string, call: CallSnapshot, init?: (room: Room) => void): Room {
    let room = this.rooms.get(callId);
    if (!room) {
      room = new Room(callId, call);
      init?.(room);
      this.rooms.set(callId, room);
    }
    return room;
  }

  /** True while `room` is the room this node keeps for its call. */
  isCurrent(room: Room): boolean {
    return this.rooms.get(room.callId) === room;
  }

  /** Drops a room from this node's bookkeeping and closes it (its `close` listeners clean up). */
  forget(room: Room): void {
    if (this.rooms.get(room.callId) === room) this.rooms.delete(room.callId);
    this.idleRooms.delete(room);
    for (const forget of this.#onForget) forget(room);
    room.close();
  }

  /** Runs `fn` for every room forgotten from now on (each job drops its own bookkeeping of it). */
  onForget(fn: (room: Room) => void): void {
    this.#onForget.push(fn);
  }

  /** Removes `peer`'s participant from the room; true when that left the room with no socket here (it is then idle). */
  dropLive(room: Room, peer: string): boolean {
    room.live.delete(peer);
    if (room.live.size > 0) return false;
    room.idleSince = this.now();
    this.idleRooms.add(room);
    return true;
  }

  /** The member record of a participant on this node. */
  liveMember(participant: Participant): MemberRecord {
    const { session } = participant;
    return { node: this.nodeId, conn: session.conn, user: session.user, state: 'connected', since: session.openedAt };
  }

  /** The room's members as this node knows them (when the directory cannot say). */
  localMembers(room: Room): Map<string, MemberRecord> {
    const members = new Map<string, MemberRecord>();
    for (const [peer, p] of room.live) members.set(peer, this.liveMember(p));
    for (const [peer, r] of room.remote) if (!members.has(peer)) members.set(peer, { node: r.node, conn: '', user: '', state: r.state, since: 0 });
    return members;
  }

  /** Keeps `promise` until it settles, so `settled()` can wait for it. */
  track(promise: Promise<unknown>): void {
    this.#inflight.add(promise);
    void promise.finally(() => this.#inflight.delete(promise));
  }

  /** Resolves once no tracked work is in flight. */
  async settled(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }
}

/** The job modules of the rooms, for one another (wired once by `Rooms`). */
export interface RoomJobs {
  relay: Relay;
  handover: Handover;
  lifecycle: Lifecycle;
  grace: Grace;
  writeBehind: WriteBehind;
  ticks: Ticks;
  media: Media;
  funding: Funding;
  maxDuration: MaxDuration;
}
