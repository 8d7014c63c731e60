import { CLOSE_CODES } from '../../shared/protocol/index.js';
import { SEQ_GAP, seqOf, withoutSeq, type MemberRecord } from './directory.js';
import type { RoomJobs, RoomsContext } from './context.js';
import { encodeNodeMessage } from './node-channel.js';
import type { Participant, Queued, Room } from './room.js';

/**
 * How long a join that replaced a socket on another node holds newer frames back for the frames
 * that node hands back (`r`, two pub/sub hops; a few ms): so an old offer is not delivered after
 * a newer one. Past it the held frames go; handed-back frames still arriving follow them.
 */
export const HANDOVER_HOLD_MS = 1000;

/**
 * A peer's newer socket taking over from an older one: on this node (the old socket's unwritten
 * frames move over at once) or on another (the old node is told to close it, `x`, and hands back
 * what it sent, `r`, while the new socket holds newer frames for at most HANDOVER_HOLD_MS).
 */
export class Handover {
  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {}

  /**
   * Replaces `earlier` (a socket of the same peer on this node) by `joining`: closes it and returns
   * what it was sent that the replay buffer may not hold yet (it goes to the new socket).
   */
  replaceHere(earlier: Participant, joining: Participant): string[] {
    earlier.replaced = true;
    this.releaseHeld(earlier);
    const handedOver = earlier.takeUnwritten();
    joining.seq = earlier.seq;
    earlier.session.io.close(CLOSE_CODES.REPLACED, 'replaced by a newer connection');
    return handedOver;
  }

  /**
   * The peer's socket `elsewhere` is still open on another node: numbers this join's frames above
   * the ones that node may have sent (returns the new seq), and asks that node to close it and hand
   * back what the client missed (the `r` answer). `known` is the highest seq this join has seen.
   */
  replaceElsewhere(participant: Participant, elsewhere: MemberRecord, lastSeq: number | undefined, known: number, replay: readonly string[]): number {
    const seq = known + SEQ_GAP;
    const { session } = participant;
    if (lastSeq !== undefined) participant.handover = { after: lastSeq, upTo: seq, replayed: new Set(replay.map(seqOf)) };
    // No node heard the kick (it died, or Redis failed): no frames will be handed back.
    void this.kick(elsewhere.node, session.callId, session.peer, elsewhere.conn, lastSeq === undefined ? -1 : known).then((heard) => {
      if (heard) return;
      participant.handover = undefined;
      this.releaseHeld(participant);
    });
    return seq;
  }

  /** Holds `participant`'s newer frames (starting with `queued`) until the handed-back ones arrive, at most HANDOVER_HOLD_MS. */
  hold(participant: Participant, queued: Queued[]): void {
    participant.queued = queued;
    participant.holdTimer = setTimeout(() => this.releaseHeld(participant), HANDOVER_HOLD_MS);
    participant.holdTimer.unref?.();
  }

  /** Ends a handover hold and delivers what it held. */
  releaseHeld(participant: Participant): void {
    for (const q of participant.takeHeld()) this.jobs.relay.deliver(participant, q.body, q.t0);
  }

  /** Asks `node` to close the socket `conn` of `peer` (it was replaced by a newer one). */
  kick(node: string, callId: string, peer: string, conn: string, knownSeq: number): Promise<boolean> {
    return this.jobs.relay.tellNode(node, encodeNodeMessage({ kind: 'x', callId, peer, knownSeq, conn }));
  }

  /** Tells `node`, where `peer` dropped, that it is connected here now (it forgets its grace period there). */
  tellBack(node: string, callId: string, peer: string): void {
    void this.jobs.relay.tellNode(node, encodeNodeMessage({ kind: 'h', callId, peer, hint: { peer, node: this.ctx.nodeId, state: 'connected' } }));
  }

  /** A kick from `node` (`x`): closes the peer's socket `conn` here if it is still the live one. */
  kicked(callId: string, peer: string, conn: string, node: string, knownSeq: number): void {
    const room = this.ctx.rooms.get(callId);
    const participant = room?.live.get(peer);
    if (room && participant && participant.conn === conn) this.#replacedElsewhere(room, participant, node, knownSeq);
  }

  /**
   * Frames a replaced socket on another node was sent but the replay buffer may not hold (`r`):
   * the client has those up to its join's last_seq; the rest it gets now, sequenced anew.
   */
  handedBack(callId: string, peer: string, frames: readonly string[]): void {
    const participant = this.ctx.rooms.get(callId)?.live.get(peer);
    const handover = participant?.handover;
    if (!participant || !handover) return;
    participant.handover = undefined;
    const held = participant.takeHeld();
    for (const frame of frames) {
      const old = seqOf(frame);
      if (old > handover.after && old <= handover.upTo && !handover.replayed.has(old)) this.jobs.relay.deliver(participant, withoutSeq(frame), Number.NaN);
    }
    for (const q of held) this.jobs.relay.deliver(participant, q.body, q.t0);
  }

  /**
   * Closes a socket whose peer joined again on `node`, and stops routing to it here: frames for
   * that peer go to `node` from now on. The peer is not reconnecting, so nobody is told.
   */
  #replacedElsewhere(room: Room, participant: Participant, node: string, knownSeq: number): void {
    participant.replaced = true;
    this.releaseHeld(participant);
    const unwritten = participant.takeUnwritten();
    participant.session.io.close(CLOSE_CODES.REPLACED, 'replaced by a newer connection');
    room.dormant.delete(participant.peer);
    room.remote.set(participant.peer, { node, state: 'connected' });
    if (this.ctx.dropLive(room, participant.peer)) this.ctx.membership.forgetLocalRoom(room.callId).catch(() => undefined);
    void this.#handBack(room.callId, participant.peer, node, unwritten, knownSeq);
  }

  /**
   * Answers a kick (`r`), even with nothing: the new socket's node then drops what it kept to
   * filter these by. Besides the frames not known to be stored, it sends the stored ones above
   * `knownSeq`, the highest the new join could have seen: a write that landed after that join
   * read the replay buffer (and before the kick came) is in neither otherwise. `knownSeq` < 0:
   * the join had no `last_seq`, and takes nothing back.
   */
  async #handBack(callId: string, peer: string, node: string, unwritten: string[], knownSeq: number): Promise<void> {
    let frames = unwritten;
    if (knownSeq >= 0) {
      const stored = await this.ctx.replay.replayAfter(callId, peer, knownSeq).catch(() => []);
      if (stored.length > 0) {
        const bySeq = new Map([...stored, ...unwritten].map((f) => [seqOf(f), f]));
        frames = [...bySeq.values()].sort((a, b) => seqOf(a) - seqOf(b));
      }
    }
    await this.jobs.relay.tellNode(node, encodeNodeMessage({ kind: 'r', callId, peer, frames }));
  }
}
