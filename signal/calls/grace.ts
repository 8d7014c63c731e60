import { isTerminal } from '../../shared/calls/index.js';
import { encodeSequenced, type PeerLeftReason } from '../../shared/protocol/index.js';
import { preciseNow } from '../clock.js';
import type { Session } from '../session/session.js';
import type { RoomJobs, RoomsContext } from './context.js';
import type { Hint } from './node-channel.js';
import { otherPeers } from './relay.js';
import type { Participant, Room } from './room.js';

/**
 * A peer's grace period as this node sees it: a closed socket makes its peer `reconnecting`
 * (recorded in the directory by a `leave`, retried while the directory is unreachable) and tells
 * the other peers; a hint that the peer is back elsewhere ends it here.
 */
export class Grace {
  /** Leaves the directory did not take yet, by socket id: the sweep retries them. */
  readonly #pendingLeaves = new Map<string, () => Promise<void>>();

  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {}

  /** Handles a closed socket: the peer becomes `reconnecting` for the grace period. */
  socketClosed(session: Session, participant: Participant | undefined): void {
    // Held frames are sequenced first, so they are among the unwritten ones a resume gets.
    if (participant) this.jobs.handover.releaseHeld(participant);
    const wasJoined = session.phase === 'joined' || session.phase === 'joining';
    session.phase = 'closed';
    if (!participant) return;
    this.ctx.unpersisted.delete(participant);
    if (!wasJoined || participant.replaced) return;
    const room = this.ctx.rooms.get(session.callId);
    if (!room || room.live.get(session.peer) !== participant) return;
    this.ctx.dropLive(room, session.peer);
    participant.close();
    if (isTerminal(room.call.status)) return;
    const frames = participant.takeUnwritten();
    const { settings, log, events, nodeId } = this.ctx.deps;
    const { membership } = this.ctx;
    const t = this.ctx.now();
    const deadline = t + settings.reconnectGraceMs;
    room.dormant.set(session.peer, { seq: participant.seq, unflushed: frames, leaveFailed: false, deadline, conn: session.conn });
    const notify = (): void => {
      log.info({ call: session.callId, peer: session.peer, conn: session.conn }, 'peer reconnecting');
      events.emit('peer-state', { callId: session.callId, peer: session.peer, state: 'reconnecting', node: nodeId });
      this.notifyLeft(session.callId, session.peer, 'disconnected');
    };
    const leave = async (): Promise<void> => {
      const left = await membership.leave(session.callId, session.peer, session.conn, t, deadline, frames);
      this.#pendingLeaves.delete(session.conn);
      // A leave retried after the peer came back here must not report it gone.
      if (left && !room.live.has(session.peer)) notify();
      if (room.live.size === 0) await membership.forgetLocalRoom(session.callId).catch(() => undefined);
    };
    this.ctx.track(leave().catch((err: unknown) => {
      const dormant = room.dormant.get(session.peer);
      // The peer came back (here, or elsewhere and this node was told) while the leave was in flight.
      if (dormant?.conn !== session.conn) return;
      log.warn({ err, call: session.callId, peer: session.peer }, 'leave not recorded (directory unavailable); will retry');
      dormant.leaveFailed = true;
      this.#pendingLeaves.set(session.conn, leave);
      for (const peer of otherPeers(session.peer)) {
        const local = room.live.get(peer);
        if (local) this.jobs.relay.deliver(local, this.#peerLeft(session.peer, 'disconnected'), preciseNow());
      }
    }));
  }

  /** A join of the peer whose socket `conn` dropped here: its leave, if still waiting, is moot. */
  resumed(conn: string): void {
    this.#pendingLeaves.delete(conn);
  }

  /** Retries the leaves the directory did not take (sweep). */
  async retryLeaves(): Promise<void> {
    for (const [conn, leave] of [...this.#pendingLeaves]) {
      this.#pendingLeaves.delete(conn);
      await leave().catch(() => this.#pendingLeaves.set(conn, leave));
    }
  }

  /** Tells the other peers that `peer` dropped (`peer-left`, with a `reconnecting` hint). */
  notifyLeft(callId: string, peer: string, reason: PeerLeftReason): void {
    const frame = this.#peerLeft(peer, reason);
    const hint: Hint = { peer, node: '', state: 'reconnecting' };
    const room = this.ctx.rooms.get(callId);
    if (room) this.applyHint(room, hint);
    for (const other of otherPeers(peer)) void this.jobs.relay.route(callId, other, frame, hint);
  }

  /** Takes a membership hint into the room (where a peer not on this node is, and in which state). */
  applyHint(room: Room, hint: Hint): void {
    if (room.live.has(hint.peer)) return;
    const dormant = hint.state === 'connected' ? room.dormant.get(hint.peer) : undefined;
    if (dormant) {
      // Back on another node: its grace here is over (this node must not end the call by it
      // while Redis is down), and so is a leave still waiting for Redis.
      room.dormant.delete(hint.peer);
      this.#pendingLeaves.delete(dormant.conn);
      if (room.live.size === 0) this.ctx.membership.forgetLocalRoom(room.callId).catch(() => undefined);
    }
    const known = room.remote.get(hint.peer);
    room.remote.set(hint.peer, { node: hint.node || known?.node || '', state: hint.state });
  }

  #peerLeft(peer: string, reason: PeerLeftReason): string {
    return encodeSequenced('peer-left', { peer, reason, reconnecting: true, grace_ms: this.ctx.settings.reconnectGraceMs });
  }
}
