import { PEERS, isTerminal, type Call } from '../../shared/calls/index.js';
import type { ErrorCode } from '../../shared/errors/index.js';
import { iceServersForToken, type IceServer } from '../../shared/ice/turn.js';
import {
  CLOSE_CODES, PROTOCOL_VERSION, ackFrame, encodeSequenced, errorFrame, type JoinResult,
} from '../../shared/protocol/index.js';
import type { Session } from '../session/session.js';
import { seqOf, type MemberRecord } from './directory.js';
import type { RoomJobs, RoomsContext } from './context.js';
import type { Hint } from './node-channel.js';
import { Participant, awaitsAnswer, snapshotOf, stateData, type Room } from './room.js';

/**
 * `join`: checks the call and the token's slot, registers the participant (replacing an older
 * socket of the peer, here or on another node), replies with the room, replays what the peer
 * missed, tells the other peers, and moves the call on (`ringing`, `active`).
 */
export class Join {
  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {}

  /** The ICE servers for this session's current token (TURN credential expiring with it by default). */
  iceServersFor(session: Session): IceServer[] {
    return iceServersForToken(this.ctx.settings.ice, session.user, session.claims.iat);
  }

  /** Runs a `join` (replies to it, and refuses it with an error frame and a close where it must). */
  async join(session: Session, lastSeq: number | undefined, id: string | undefined): Promise<void> {
    const { log, nodeId, events, metrics } = this.ctx.deps;
    const { relay, handover, grace, ticks } = this.jobs;
    if (session.phase !== 'open') return this.#reply(session, id, 'conflict', 'This socket has already joined.');
    session.phase = 'joining';
    let call: Call | null;
    try {
      call = await this.#lookup(session.callId);
    } catch (err) {
      log.error({ err, call: session.callId }, 'call lookup failed');
      session.phase = 'open';
      return this.#reply(session, id, 'service_unavailable', 'Call storage is unavailable; retry.');
    }
    if (session.isClosed) return;
    if (!call) return this.#refuse(session, id, 'not_found', 'Call not found.', CLOSE_CODES.CALL_ENDED);
    const owner = session.peer === 'host' ? call.host_id : session.peer === 'guest' ? call.guest_id : undefined;
    if (owner !== session.user) return this.#refuse(session, id, 'forbidden', 'This token does not belong to a participant of the call.', CLOSE_CODES.UNAUTHORIZED);
    if (isTerminal(call.status)) return this.#refuse(session, id, 'gone', `The call is ${call.status}.`, CLOSE_CODES.CALL_ENDED);

    const snapshot = snapshotOf(call);
    const room = this.ctx.room(session.callId, snapshot, (r) => ticks.initRoom(r, snapshot));
    if (call.version > room.call.version) room.call = snapshot;
    const participant = new Participant(session);
    const earlier = room.live.get(session.peer);
    // What the replaced socket was sent that the replay buffer may not hold yet goes to this one.
    const handedOver = earlier ? handover.replaceHere(earlier, participant) : [];
    if (room.live.size === 0) room.heldSince = this.ctx.now();
    room.live.set(session.peer, participant);
    this.ctx.idleRooms.delete(room);
    ticks.schedule(room);
    this.jobs.maxDuration.schedule(room);
    const member: MemberRecord = { node: nodeId, conn: session.conn, user: session.user, state: 'connected', since: this.ctx.now() };
    let previous: MemberRecord | null = null;
    let members = new Map<string, MemberRecord>();
    let storedSeq = 0;
    let replay: string[] = [];
    let parked: string[] = [];
    try {
      const outcome = await this.ctx.membership.join(session.callId, session.peer, member, lastSeq);
      ({ previous, members, replay, parked } = outcome);
      storedSeq = outcome.seq;
      // A peer joined on this node is connected whatever the directory says (its own join may
      // have missed Redis, e.g. just after Redis came back): without it the call never activates.
      for (const [peer, live] of room.live) {
        if (peer !== session.peer && live.session.phase === 'joined' && members.get(peer)?.state !== 'connected') members.set(peer, this.ctx.liveMember(live));
      }
    } catch (err) {
      log.warn({ err, call: session.callId, peer: session.peer }, 'directory unavailable at join; continuing with local state');
      members = this.ctx.localMembers(room);
      members.set(session.peer, member);
    }
    if (session.isClosed || participant.replaced) return;
    // The peer's record on another node: a socket still open there (replaced now), or one that dropped.
    const elsewhere = previous && previous.conn !== session.conn && previous.node !== nodeId ? previous : undefined;
    if (elsewhere && elsewhere.state !== 'connected') handover.tellBack(elsewhere.node, session.callId, session.peer);

    const dormant = room.dormant.get(session.peer);
    room.dormant.delete(session.peer);
    if (dormant) {
      previous ??= { ...member, state: 'reconnecting' };
      grace.resumed(dormant.conn);
    }
    // Frames not known to be in the replay buffer: of the dropped socket (its leave stores them
    // unless it failed) and of the replaced one (stored from here; the store skips seqs it has).
    const unwritten = [...(dormant?.unflushed ?? []), ...handedOver];
    if (unwritten.length > 0) {
      const have = new Set(replay.map(seqOf));
      const extra = unwritten.filter((f) => lastSeq !== undefined && seqOf(f) > lastSeq && !have.has(seqOf(f)));
      if (extra.length > 0) replay = [...replay, ...extra].sort((a, b) => seqOf(a) - seqOf(b));
      const toStore = dormant?.leaveFailed ? unwritten : handedOver;
      if (toStore.length > 0) {
        (participant.pending ??= []).push(...toStore);
        this.ctx.unpersisted.add(participant);
      }
    }
    let seq = Math.max(storedSeq, dormant?.seq ?? 0, participant.seq, lastSeq ?? 0, ...replay.map(seqOf));
    // The replaced socket's node numbered frames this join did not see: number above them, and
    // take back the ones the client missed (they come with the answer to the kick, `r`).
    if (elsewhere?.state === 'connected') seq = handover.replaceElsewhere(participant, elsewhere, lastSeq, seq, replay);
    participant.seq = seq;
    for (const [peer, record] of members) {
      if (peer !== session.peer && !room.live.has(peer)) room.remote.set(peer, { node: record.node, state: record.state });
    }

    const result: JoinResult = {
      protocol: PROTOCOL_VERSION,
      node: nodeId,
      call: stateData(room.callId, room.call),
      peer: session.peer,
      peers: [...members].filter(([p]) => p !== session.peer).map(([peer, record]) => ({ peer, state: record.state })),
      ice_servers: this.iceServersFor(session),
      resumed: previous !== null,
      replayed: replay.length,
      seq,
      token_expires_at: session.expiresAt,
    };
    session.phase = 'joined';
    relay.send(session, ackFrame(id, result), 'ack');
    for (const frame of replay) relay.send(session, frame, 'replay');
    metrics.replayed.inc(replay.length);
    const queued = participant.queued ?? [];
    participant.queued = undefined;
    for (const frameBody of parked) relay.deliver(participant, frameBody, Number.NaN);
    if (participant.handover) handover.hold(participant, queued);
    else for (const q of queued) relay.deliver(participant, q.body, q.t0);
    log.info({ call: session.callId, peer: session.peer, conn: session.conn, resumed: result.resumed, replayed: replay.length }, 'peer joined');
    events.emit('peer-state', { callId: session.callId, peer: session.peer, state: 'connected', node: nodeId });

    const hint: Hint = { peer: session.peer, node: nodeId, state: 'connected' };
    const joined = encodeSequenced('peer-joined', { peer: session.peer, resumed: result.resumed });
    for (const [peer] of members) if (peer !== session.peer) void relay.route(session.callId, peer, joined, hint);

    await this.#advance(room, session, members);
  }

  /**
   * The call from the cache (every writer of calls writes it before announcing), else from the
   * store. A stale cached state is corrected by the announcement that follows it, or, for a call
   * that ended, by the refused activation (which re-reads the store and closes the room).
   */
  async #lookup(callId: string): Promise<Call | null> {
    const { lookup, store, metrics } = this.ctx.deps;
    if (!lookup) return store.get(callId);
    const { call, source } = await lookup.lookup(callId);
    metrics.joinLookups[source] += 1;
    return call;
  }

  /** Moves an unanswered call on: `active` once both peers are connected, else `ringing` when the host is in. */
  async #advance(room: Room, session: Session, members: Map<string, MemberRecord>): Promise<void> {
    if (!awaitsAnswer(room.call.status)) return;
    const connected = PEERS.every((p) => members.get(p)?.state === 'connected');
    if (connected) await this.jobs.lifecycle.activate(room);
    else if (session.peer === 'host' && room.call.status === 'waiting') await this.jobs.lifecycle.transition(session.callId, 'ringing');
  }

  #reply(session: Session, id: string | undefined, code: ErrorCode, message: string): void {
    this.jobs.relay.send(session, errorFrame(code, message, id), 'error');
  }

  #refuse(session: Session, id: string | undefined, code: ErrorCode, message: string, close: number): void {
    this.#reply(session, id, code, message);
    session.io.close(close, message);
  }
}
