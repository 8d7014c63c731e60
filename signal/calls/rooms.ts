import type { CallAnnouncement } from '../../shared/calls/index.js';
import type { IceServer } from '../../shared/ice/turn.js';
import type { MediaState } from '../../shared/protocol/index.js';
import type { BrokerMessage } from '../broker/index.js';
import type { Session } from '../session/session.js';
import { RoomsContext, type RoomJobs, type RoomsDeps } from './context.js';
import { Funding } from './funding.js';
import { Grace } from './grace.js';
import { Handover } from './handover.js';
import { Hangup } from './hangup.js';
import { Join } from './join.js';
import { Lifecycle } from './lifecycle.js';
import { Media } from './media.js';
import { MaxDuration } from './max-duration.js';
import { decodeNodeMessage } from './node-channel.js';
import { Relay } from './relay.js';
import { Sweeps } from './sweeps.js';
import { Ticks } from './ticks.js';
import { WriteBehind } from './write-behind.js';

/** What the signaling route asks of the rooms, one method per client request and socket event. */
export interface CallRooms {
  /** Handles `join`: registers the peer, replies with the room, replays missed frames, notifies the others. */
  join(session: Session, lastSeq: number | undefined, id: string | undefined): Promise<void>;
  /** Relays a peer-to-peer frame: how many peers it reached (a number when all were served synchronously). */
  relay(session: Session, type: string, data: Record<string, unknown>, t0: number): number | Promise<number>;
  /** Handles `media-state`: a peer's media connection state; the first `connected` may start the billing clock. */
  mediaState(session: Session, state: MediaState, id: string | undefined): void;
  /** Handles `hangup` (replies once: `ack` after the call is over, or `error`). */
  hangup(session: Session, id: string | undefined): Promise<void>;
  /** A socket closed: its peer, if joined, becomes `reconnecting` for the grace period. */
  socketClosed(session: Session): void;
  /** The ICE servers for this session's current token. */
  iceServersFor(session: Session): IceServer[];
}

/**
 * The rooms of one node: the facade over the job modules (join, relay, handover, lifecycle,
 * hangup, grace, sweeps, write-behind, ticks, media, funding, max-duration), which share one
 * `RoomsContext`. A frame for a peer on this node is delivered straight to its socket; for a peer
 * on another node it is published once on that node's channel; for a peer that is reconnecting it
 * goes to its replay buffer. Call transitions go through the atomic CallStore update, so
 * concurrent nodes make each one exactly once.
 */
export class Rooms implements CallRooms {
  readonly #ctx: RoomsContext;
  readonly #jobs: RoomJobs;
  readonly #join: Join;
  readonly #hangup: Hangup;
  readonly #sweeps: Sweeps;
  readonly callsChannel: string;

  constructor(deps: RoomsDeps) {
    const ctx = (this.#ctx = new RoomsContext(deps));
    const jobs = {} as RoomJobs;
    Object.assign(jobs, {
      relay: new Relay(ctx, jobs),
      handover: new Handover(ctx, jobs),
      lifecycle: new Lifecycle(ctx, jobs),
      grace: new Grace(ctx, jobs),
      writeBehind: new WriteBehind(ctx),
      ticks: new Ticks(ctx, jobs),
      media: new Media(ctx, jobs),
      funding: new Funding(ctx, jobs),
      maxDuration: new MaxDuration(ctx, jobs),
    } satisfies RoomJobs);
    this.#jobs = jobs;
    this.#join = new Join(ctx, jobs);
    this.#hangup = new Hangup(ctx, jobs);
    this.#sweeps = new Sweeps(ctx, jobs);
    this.callsChannel = jobs.lifecycle.callsChannel;
  }

  join(session: Session, lastSeq: number | undefined, id: string | undefined): Promise<void> {
    return this.#join.join(session, lastSeq, id);
  }

  relay(session: Session, type: string, data: Record<string, unknown>, t0: number): number | Promise<number> {
    return this.#jobs.relay.relay(session, type, data, t0);
  }

  mediaState(session: Session, state: MediaState, id: string | undefined): void {
    this.#jobs.media.report(session, state, id);
  }

  hangup(session: Session, id: string | undefined): Promise<void> {
    return this.#hangup.hangup(session, id);
  }

  socketClosed(session: Session): void {
    // A socket's participant is the live one of its peer; a replaced socket's is no longer in the room (its close changes nothing).
    const live = this.#ctx.rooms.get(session.callId)?.live.get(session.peer);
    this.#jobs.grace.socketClosed(session, live?.session === session ? live : undefined);
  }

  iceServersFor(session: Session): IceServer[] {
    return this.#join.iceServersFor(session);
  }

  /** Local rooms by call status (for metrics). */
  callsByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const room of this.#ctx.rooms.values()) if (room.live.size > 0) out[room.call.status] = (out[room.call.status] ?? 0) + 1;
    return out;
  }

  /** Handles a message on this node's channel (frames and control messages from other nodes). */
  onNodeMessage(message: BrokerMessage): void {
    const m = decodeNodeMessage(message.payload);
    if (!m) return;
    const { relay, handover, grace } = this.#jobs;
    switch (m.kind) {
      case 'd': return relay.fromNode(m.callId, m.peer, m.body, m.hint, m.t0, m.hop);
      case 'x': return handover.kicked(m.callId, m.peer, m.conn, message.from, m.knownSeq);
      case 'r': return handover.handedBack(m.callId, m.peer, m.frames);
      case 'h': {
        const room = this.#ctx.rooms.get(m.callId);
        if (m.hint && room) grace.applyHint(room, m.hint);
      }
    }
  }

  /** Handles a call-state published by another node (or by the calls API). */
  onCallsMessage(message: BrokerMessage): void {
    this.#jobs.lifecycle.onCallsMessage(message);
  }

  /** Pushes an announced call state to this node's sockets of that call when it is newer than ours. */
  applyAnnouncement(data: CallAnnouncement): void {
    this.#jobs.lifecycle.applyAnnouncement(data);
  }

  /** No dead-node sweep before this time (ms): after a Redis outage every node must heartbeat again first. */
  holdDeadNodeSweepUntil(t: number): void {
    this.#sweeps.holdDeadNodeSweepUntil = t;
  }

  /** Writes the frames delivered since the last flush to the peers' replay buffers (never overlapping). */
  flushReplay(): Promise<void> {
    return this.#jobs.writeBehind.flush();
  }

  /** One maintenance pass: retried leaves, grace expiry, dead nodes, activations, ticks, maximum durations, idle rooms. */
  async sweep(aliveNodes: () => Promise<string[]>): Promise<void> {
    await this.#jobs.grace.retryLeaves();
    const t = this.#ctx.now();
    await this.#sweeps.expireGrace(t);
    await this.#sweeps.sweepDeadNodes(t, aliveNodes);
    await this.#jobs.lifecycle.retryActivations();
    await this.#jobs.ticks.sweep(t);
    // After the ticks: a minute ending with the maximum duration is still counted.
    this.#jobs.maxDuration.sweep(t);
    this.#sweeps.forgetIdleRooms(t);
  }

  /** After the directory was unreachable: re-reads the local calls and re-registers their peers. */
  resync(): Promise<void> {
    return this.#sweeps.resync();
  }

  /** Every open session on this node (drain, timers). */
  *sessions(): Iterable<Session> {
    for (const room of this.#ctx.rooms.values()) for (const p of room.live.values()) yield p.session;
  }

  /** Resolves when every in-flight leave and write-behind has finished. */
  async settle(): Promise<void> {
    await this.#ctx.settled();
    await this.#jobs.writeBehind.settle();
  }
}
