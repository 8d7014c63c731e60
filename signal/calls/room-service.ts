import { randomUUID } from 'node:crypto';
import { AppError, type ErrorCode } from '../../shared/errors/index.js';
import {
  PEERS, announcementOf, callsChannelName, isTerminal,
  type Call, type CallAnnouncement, type CallStatus, type CallStore, type EndReason, type TransitionResult,
} from '../../shared/calls/index.js';
import { iceServersForToken, type IceConfig, type IceServer } from '../../shared/ice/turn.js';
import type { Logger } from '../../shared/runtime/logger.js';
import {
  CLOSE_CODES, PROTOCOL_VERSION,
  type CallStateData, type JoinResult, type PeerLeftReason, type PeerState,
} from '../../shared/protocol/index.js';
import type { Broker, BrokerMessage } from '../broker/index.js';
import { preciseNow } from '../clock.js';
import { DeadlineWheel, type WheelEntry } from '../deadline-wheel.js';
import type { SignalMetrics } from '../metrics.js';
import type { Session } from '../session/session.js';
import { SEQ_GAP, seqOf, withSeq, withoutSeq, type MemberRecord, type PendingFrames, type RoomDirectory } from './directory.js';
import type { CallEvents } from './events.js';
import { STORAGE_RETRY_DELAYS_MS, isFinalStorageError, withRetry } from './retry.js';

/** Limits and timings the room service needs (a slice of `config.signal`), and `config.calls.ice`. */
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
  /** STUN/TURN for the `join` reply: TURN credentials per user, expiring as the calls API's do. */
  ice: IceConfig;
}

/** What a local room knows about its call. */
interface CallSnapshot {
  status: CallStatus;
  endReason: string | null;
  version: number;
  answeredAt: number | null;
  hostId: string;
  guestId: string;
}

interface Dormant {
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
  /** The closed socket's id (its leave may still be waiting in `#pendingLeaves`). */
  conn: string;
}

/** A call as one node sees it: its local sockets, peers dropped here, and where the others are. */
class LocalRoom implements WheelEntry {
  readonly live = new Map<string, Session>();
  readonly dormant = new Map<string, Dormant>();
  readonly remote = new Map<string, { node: string; state: PeerState }>();
  lastTick = 0;
  idleSince = 0;
  /** When this node last went from no socket of the room to one: a tick of an earlier minute is `late`. */
  heldSince = 0;
  /** Slot on the billing-tick wheel (the wheel's bookkeeping). */
  wheelSlot = -1;

  constructor(readonly callId: string, public call: CallSnapshot) {}
}

/** A membership hint travelling with a frame: `peer` is now `state` (on `node`). */
interface Hint {
  peer: string;
  node: string;
  state: PeerState;
}

/** Resolution of the billing-tick wheel (ms): a tick is emitted at the first sweep at least this long after its minute. */
const TICK_WHEEL_RESOLUTION_MS = 100;
/** Billing-tick claims sent to the directory in one call. */
const TICK_CLAIM_BATCH = 500;
/**
 * Peers whose pending replay frames go to the directory in one call. Each call is one Lua script,
 * which holds Redis for its whole run (~9 µs per peer): 50 keeps a cross-node frame's PUBLISH from
 * waiting behind one for more than about 0.4 ms.
 */
const WRITE_BEHIND_BATCH = 50;
/**
 * How long a join that replaced a socket on another node holds newer frames back for the frames
 * that node hands back (`r`, two pub/sub hops; a few ms): so an old offer is not delivered after
 * a newer one. Past it the held frames go; handed-back frames still arriving follow them.
 */
const HANDOVER_HOLD_MS = 1000;
/** Calls re-read from the store at once after a Redis outage (one MongoDB query each). */
const RESYNC_READ_BATCH = 50;
/**
 * Rooms of each dead node one sweep marks at most: more than a node holds (~10,000 calls with
 * 20,000 sockets), so every participant of a dead node is marked by the first sweep after its
 * liveness key expires, in round trips of 50 rooms.
 */
const DEAD_NODE_ROOMS_PER_SWEEP = 50_000;
/** How long a claimed grace expiry stays with its claimer before another sweep may take it again. */
export const GRACE_CLAIM_LEASE_MS = 10_000;
/** A `hangup` is answered within this long: `ack` once the call is over, else `service_unavailable`. */
export const HANGUP_REPLY_BUDGET_MS = 5_000;

/** What became of a transition asked of the store (after retrying storage failures). */
type StoreOutcome =
  | { kind: 'done'; result: TransitionResult }
  | { kind: 'refused'; err: AppError }
  | { kind: 'unavailable'; err: unknown };

const now = (): number => Date.now();

function snapshotOf(call: Call): CallSnapshot {
  return {
    status: call.status, endReason: call.end_reason, version: call.version,
    answeredAt: call.answered_at ? call.answered_at.getTime() : null, hostId: call.host_id, guestId: call.guest_id,
  };
}

function stateData(callId: string, call: CallSnapshot): CallStateData {
  return { call_id: callId, status: call.status, end_reason: call.endReason, version: call.version };
}

function body(type: string, data: unknown): string {
  return JSON.stringify({ type, data });
}

/** A relayed frame's body: the sender's data without `to`, plus `from`. */
function relayBody(type: string, from: string, data: Record<string, unknown>): string {
  if (data['to'] === undefined) return body(type, { from, ...data });
  const { to: _to, ...rest } = data;
  return body(type, { from, ...rest });
}

/**
 * A message on a node's channel: `d` a frame to deliver, `x` close a replaced socket (the `t0`
 * slot carries the highest seq the new join could have seen), `r` the replaced socket's frames
 * the new one may lack, `h` a peer is connected elsewhere (layout in docs/signaling.md;
 * parsed by `onNodeMessage`).
 */
function nodeMessage(kind: 'd' | 'x' | 'r' | 'h', callId: string, peer: string, hint: Hint | undefined, content: string, t0 = 0, hop = 0): string {
  const h = hint ? `${hint.peer}|${hint.node}|${hint.state}` : '';
  return `${kind}\n${callId}\n${peer}\n${t0}\n${hop}\n${h}\n${content}`;
}

/** `items` in consecutive slices of at most `size`. */
function inBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** True while a call has not been answered yet (`waiting` or `ringing`). */
function awaitsAnswer(status: CallStatus): boolean {
  return status === 'waiting' || status === 'ringing';
}

const OTHER_PEERS = new Map<string, readonly string[]>(PEERS.map((peer) => [peer, PEERS.filter((p) => p !== peer)]));

/** Every participant slot but `peer` (precomputed: this runs for every relayed frame). */
function otherPeers(peer: string): readonly string[] {
  return OTHER_PEERS.get(peer) ?? PEERS;
}

/**
 * Rooms, relay and call lifecycle on one node. A frame for a peer on this node is delivered
 * straight to its socket; a frame for a peer on another node is published once on that node's
 * channel; a frame for a peer that is reconnecting goes to its replay buffer. Call transitions
 * go through the atomic CallStore update, so concurrent nodes make each one exactly once.
 */
export class RoomService {
  readonly #rooms = new Map<string, LocalRoom>();
  readonly #pendingLeaves = new Map<string, () => Promise<void>>();
  /** The replay flush in progress (at most one at a time, so a peer's frames reach Redis in order). */
  #flushing: Promise<void> | undefined;
  /** Sessions holding frames not yet written to their replay buffer (the write-behind's work list). */
  readonly #unpersisted = new Set<Session>();
  readonly #inflight = new Set<Promise<unknown>>();
  /** Rooms with no socket on this node (the sweep forgets them after a while). */
  readonly #idleRooms = new Set<LocalRoom>();
  /** Replies owed to `hangup` requests in flight, per socket: sent once the call is over. */
  readonly #hangupAcks = new WeakMap<Session, Set<() => void>>();
  /** Rooms whose peers were both connected but storage failed to make the call `active`; the sweep retries. */
  readonly #activationPending = new Set<LocalRoom>();
  /** Active calls with a socket here, each under the time its next billing tick is due. */
  readonly #tickWheel = new DeadlineWheel<LocalRoom>(TICK_WHEEL_RESOLUTION_MS, now());
  /** Calls this node is ending because a grace period ran out (one attempt per call at a time). */
  readonly #ending = new Set<string>();
  /** When a sweep last reached the directory's grace periods (ms since the epoch; 0: never). */
  #directoryReachedAt = 0;
  readonly callsChannel: string;

  constructor(private readonly deps: {
    nodeId: string;
    prefix: string;
    store: CallStore;
    directory: RoomDirectory;
    broker: Broker;
    events: CallEvents;
    metrics: SignalMetrics;
    settings: RoomSettings;
    log: Logger;
  }) {
    this.callsChannel = callsChannelName(deps.prefix);
  }

  /** Local rooms by call status (for metrics). */
  callsByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const room of this.#rooms.values()) if (room.live.size > 0) out[room.call.status] = (out[room.call.status] ?? 0) + 1;
    return out;
  }

  /** Handles `join`: registers the peer, replies with the room, replays missed frames, notifies the others. */
  async join(session: Session, lastSeq: number | undefined, id: string | undefined): Promise<void> {
    const { log, store, directory, nodeId } = this.deps;
    if (session.phase !== 'open') return this.#reply(session, id, 'conflict', 'This socket has already joined.');
    session.phase = 'joining';
    let call: Call | null;
    try {
      call = await store.get(session.callId);
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

    const room = this.#room(session.callId, snapshotOf(call));
    if (call.version > room.call.version) room.call = snapshotOf(call);
    const earlier = room.live.get(session.peer);
    // What the replaced socket was sent that the replay buffer may not hold yet goes to this one.
    let handedOver: string[] = [];
    if (earlier && earlier !== session) {
      earlier.replaced = true;
      this.#releaseHeld(earlier);
      handedOver = earlier.takeUnwritten();
      session.seq = earlier.seq;
      earlier.io.close(CLOSE_CODES.REPLACED, 'replaced by a newer connection');
    }
    if (room.live.size === 0) room.heldSince = now();
    room.live.set(session.peer, session);
    this.#idleRooms.delete(room);
    this.#scheduleTick(room);
    session.queued = [];
    const member: MemberRecord = { node: nodeId, conn: session.conn, user: session.user, state: 'connected', since: now() };
    let previous: MemberRecord | null = null;
    let members = new Map<string, MemberRecord>();
    let storedSeq = 0;
    let replay: string[] = [];
    let parked: string[] = [];
    try {
      const outcome = await directory.join(session.callId, session.peer, member, lastSeq);
      ({ previous, members, replay, parked } = outcome);
      storedSeq = outcome.seq;
      // A peer joined on this node is connected whatever the directory says (its own join may
      // have missed Redis, e.g. just after Redis came back): without it the call never activates.
      for (const [peer, live] of room.live) {
        if (peer !== session.peer && live.phase === 'joined' && members.get(peer)?.state !== 'connected') members.set(peer, this.#liveMember(live));
      }
    } catch (err) {
      log.warn({ err, call: session.callId, peer: session.peer }, 'directory unavailable at join; continuing with local state');
      members = this.#localMembers(room);
      members.set(session.peer, member);
    }
    if (session.isClosed || session.replaced) return;
    // The peer's record on another node: a socket still open there (replaced now), or one that dropped.
    const elsewhere = previous && previous.conn !== session.conn && previous.node !== nodeId ? previous : undefined;
    if (elsewhere && elsewhere.state !== 'connected') this.#tellBack(elsewhere.node, session.callId, session.peer);

    const dormant = room.dormant.get(session.peer);
    room.dormant.delete(session.peer);
    if (dormant) {
      previous ??= { ...member, state: 'reconnecting' };
      this.#pendingLeaves.delete(dormant.conn);
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
        (session.pending ??= []).push(...toStore);
        this.#unpersisted.add(session);
      }
    }
    let seq = Math.max(storedSeq, dormant?.seq ?? 0, session.seq, lastSeq ?? 0, ...replay.map(seqOf));
    if (elsewhere?.state === 'connected') {
      // The replaced socket's node numbered frames this join did not see: number above them, and
      // take back the ones the client missed (they come with the answer to the kick, `r`).
      const known = seq;
      seq += SEQ_GAP;
      if (lastSeq !== undefined) session.handover = { after: lastSeq, upTo: seq, replayed: new Set(replay.map(seqOf)) };
      // No node heard the kick (it died, or Redis failed): no frames will be handed back.
      void this.kick(elsewhere.node, session.callId, session.peer, elsewhere.conn, lastSeq === undefined ? -1 : known).then((heard) => {
        if (heard) return;
        session.handover = undefined;
        this.#releaseHeld(session);
      });
    }
    session.seq = seq;
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
    this.#send(session, JSON.stringify({ type: 'ack', ...(id ? { id } : {}), data: result }), 'ack');
    for (const frame of replay) this.#send(session, frame, 'replay');
    this.deps.metrics.replayed.inc(replay.length);
    const queued = session.queued ?? [];
    session.queued = undefined;
    for (const frameBody of parked) this.#deliverLocal(session, frameBody, Number.NaN);
    if (session.handover) this.#holdForHandover(session, queued);
    else for (const q of queued) this.#deliverLocal(session, q.body, q.t0);
    log.info({ call: session.callId, peer: session.peer, conn: session.conn, resumed: result.resumed, replayed: replay.length }, 'peer joined');
    this.deps.events.emit('peer-state', { callId: session.callId, peer: session.peer, state: 'connected', node: nodeId });

    const hint: Hint = { peer: session.peer, node: nodeId, state: 'connected' };
    const joined = body('peer-joined', { peer: session.peer, resumed: result.resumed });
    for (const [peer] of members) if (peer !== session.peer) void this.route(session.callId, peer, joined, hint);

    if (awaitsAnswer(room.call.status)) {
      const connected = PEERS.every((p) => members.get(p)?.state === 'connected');
      if (connected) await this.#activate(room);
      else if (session.peer === 'host' && room.call.status === 'waiting') await this.transition(session.callId, 'ringing');
    }
  }

  /**
   * Makes the call `active`. Losing a race to a concurrent `ringing` transition (the call moved
   * on under us) is retried at once; when storage keeps failing, the room is marked so the sweep
   * tries again.
   */
  async #activate(room: LocalRoom): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const version = room.call.version;
      if (await this.transition(room.callId, 'active')) break;
      if (!awaitsAnswer(room.call.status) || room.call.version === version) break;
    }
    if (awaitsAnswer(room.call.status)) this.#activationPending.add(room);
    else this.#activationPending.delete(room);
  }

  /** Retries activations that storage refused while both peers are still connected. */
  async #retryActivations(): Promise<void> {
    for (const room of [...this.#activationPending]) {
      const bothConnected = PEERS.every((p) => room.live.has(p) || room.remote.get(p)?.state === 'connected');
      if (bothConnected && awaitsAnswer(room.call.status) && this.#rooms.get(room.callId) === room) await this.#activate(room);
      else this.#activationPending.delete(room);
    }
  }

  /** The ICE servers for this session's current token (TURN credential expiring with it by default). */
  iceServersFor(session: Session): IceServer[] {
    return iceServersForToken(this.deps.settings.ice, session.user, session.claims.iat);
  }

  /**
   * Relays a peer-to-peer frame to `to` (or every other peer): how many peers it reached, as a
   * number when every target was served synchronously (peers on this node), else a promise.
   */
  relay(session: Session, type: string, data: Record<string, unknown>, t0: number): number | Promise<number> {
    const to = data['to'];
    const frame = relayBody(type, session.peer, data);
    let reached = 0;
    let later: Array<Promise<boolean>> | undefined;
    for (const peer of typeof to === 'string' ? [to] : otherPeers(session.peer)) {
      const outcome = this.route(session.callId, peer, frame, undefined, t0);
      if (outcome === true) reached += 1;
      else if (outcome !== false) (later ??= []).push(outcome);
    }
    if (!later) return reached;
    return Promise.all(later).then((results) => reached + results.filter(Boolean).length);
  }

  /**
   * Handles `hangup`: an active call → `ended`/`hangup`; before that the host's hangup declines
   * it and the guest's ends it. Replies once: `ack` (when the request has an `id`) only after the
   * call is over (ended here, or already over), before the peers get `call-state`; an `error`
   * `service_unavailable` when storage failed on every attempt or did not answer within
   * HANGUP_REPLY_BUDGET_MS (resending is safe: the store transition is idempotent).
   */
  async hangup(session: Session, id: string | undefined): Promise<void> {
    let replied = false;
    const reply = (code?: ErrorCode, message?: string): void => {
      if (replied) return;
      replied = true;
      if (code) this.#reply(session, id, code, message ?? '');
      else if (id) this.#send(session, JSON.stringify({ type: 'ack', id }), 'ack');
    };
    const unavailable = (): void => reply('service_unavailable', 'Call storage is unavailable; the call was not ended. Retry.');
    const budget = setTimeout(unavailable, HANGUP_REPLY_BUDGET_MS);
    // If the other side's hangup ends the call first, its call-state closes this socket: ack before that.
    const ack = (): void => reply();
    const acks = this.#hangupAcks.get(session) ?? new Set<() => void>();
    this.#hangupAcks.set(session, acks.add(ack));
    try {
      const over = await this.#endByHangup(session, ack);
      if (over === 'unavailable') unavailable();
      else if (over === 'not_found') reply('not_found', 'Call not found.');
    } finally {
      clearTimeout(budget);
      acks.delete(ack);
    }
  }

  /** The transitions of a hangup; `onOver` runs once the call is over, before the peers are told. */
  async #endByHangup(session: Session, onOver: () => void): Promise<'over' | 'unavailable' | 'not_found'> {
    const { callId } = session;
    const at = new Date();
    let status = this.#rooms.get(callId)?.call.status ?? 'active';
    for (let round = 0; round < 3; round++) {
      const to: CallStatus = status !== 'active' && session.peer === 'host' ? 'declined' : 'ended';
      const before = this.#rooms.get(callId)?.call.status ?? null;
      const outcome = await this.#storeTransition(callId, to, to === 'declined' ? 'declined' : 'hangup', at);
      if (outcome.kind === 'unavailable') return 'unavailable';
      if (outcome.kind === 'done') {
        onOver();
        this.#settle(callId, to, before, outcome.result);
        return 'over';
      }
      if (outcome.err.code === 'not_found') return 'not_found';
      const call = await this.#read(callId);
      if (call === undefined) return 'unavailable';
      if (call === null) return 'not_found';
      if (isTerminal(call.status)) {
        onOver();
        this.#applyCall(callId, snapshotOf(call));
        return 'over';
      }
      status = call.status;
    }
    return 'unavailable';
  }

  /**
   * Applies a call transition through the store, retrying storage failures. Only the caller
   * whose atomic update won emits the event and pushes `call-state` (locally, and to other nodes
   * on the calls channel).
   */
  async transition(callId: string, to: CallStatus, reason?: EndReason): Promise<boolean> {
    const before: CallStatus | null = this.#rooms.get(callId)?.call.status ?? null;
    const outcome = await this.#storeTransition(callId, to, reason);
    if (outcome.kind === 'unavailable') return false;
    if (outcome.kind === 'refused') {
      this.deps.log.debug({ call: callId, to, err: outcome.err.message }, 'transition not applied');
      if (outcome.err.code === 'conflict') await this.refreshCall(callId);
      return false;
    }
    return this.#settle(callId, to, before, outcome.result);
  }

  /** Asks the store for a transition, retrying storage failures (one idempotency key for all attempts). */
  async #storeTransition(callId: string, to: CallStatus, reason?: EndReason, at = new Date()): Promise<StoreOutcome> {
    const options = { ...(reason ? { reason } : {}), at, key: randomUUID() };
    try {
      return { kind: 'done', result: await withRetry(() => this.deps.store.transition(callId, to, options), this.#retryOptions(callId, `transition to ${to}`)) };
    } catch (err) {
      if (err instanceof AppError && (err.code === 'conflict' || err.code === 'not_found')) return { kind: 'refused', err };
      this.deps.log.error({ err, call: callId, to }, 'transition failed');
      return { kind: 'unavailable', err };
    }
  }

  /** The stored call (null: no such call), retrying storage failures; undefined when storage kept failing. */
  async #read(callId: string): Promise<Call | null | undefined> {
    try {
      return await withRetry(() => this.deps.store.get(callId), this.#retryOptions(callId, 'call lookup'));
    } catch (err) {
      this.deps.log.error({ err, call: callId }, 'call lookup failed');
      return undefined;
    }
  }

  #retryOptions(callId: string, operation: string) {
    return {
      delaysMs: STORAGE_RETRY_DELAYS_MS,
      isFinal: isFinalStorageError,
      onRetry: (err: unknown, attempt: number) => this.deps.log.warn({ err, call: callId, operation, attempt }, 'call storage failed; retrying'),
    };
  }

  /** Announces and applies what the store did; true when this caller made the transition. */
  #settle(callId: string, to: CallStatus, before: CallStatus | null, result: TransitionResult): boolean {
    const { log, events, nodeId } = this.deps;
    if (!result.changed) {
      this.#applyCall(callId, snapshotOf(result.call));
      return false;
    }
    const from = before === to ? null : before;
    const snapshot = snapshotOf(result.call);
    log.info({ call: callId, from, to, reason: snapshot.endReason, version: snapshot.version }, 'call state changed');
    events.emit('call-state', { callId, from, to, reason: result.call.end_reason, version: snapshot.version, at: result.call.updated_at, node: nodeId });
    const payload = JSON.stringify(announcementOf(result.call));
    this.deps.broker.publish(this.callsChannel, payload).catch(() => this.deps.metrics.publishFailures.inc());
    this.#applyCall(callId, snapshot);
    if (isTerminal(to)) {
      this.deps.directory.clearRoom(callId, PEERS).catch((err: unknown) => log.warn({ err, call: callId }, 'room cleanup failed'));
    }
    return true;
  }

  /** Re-reads a call from the store and pushes its state if it is newer than ours. */
  async refreshCall(callId: string): Promise<void> {
    const call = await this.deps.store.get(callId).catch(() => null);
    if (call) this.#applyCall(callId, snapshotOf(call));
  }

  /** Handles a closed socket: the peer becomes `reconnecting` for the grace period. */
  socketClosed(session: Session): void {
    // Held frames are sequenced first, so they are among the unwritten ones a resume gets.
    this.#releaseHeld(session);
    const wasJoined = session.phase === 'joined' || session.phase === 'joining';
    session.phase = 'closed';
    this.#unpersisted.delete(session);
    if (!wasJoined || session.replaced) return;
    const room = this.#rooms.get(session.callId);
    if (!room || room.live.get(session.peer) !== session) return;
    this.#dropLive(room, session.peer);
    if (isTerminal(room.call.status)) return;
    const frames = session.takeUnwritten();
    const t = now();
    const deadline = t + this.deps.settings.reconnectGraceMs;
    room.dormant.set(session.peer, { seq: session.seq, unflushed: frames, leaveFailed: false, deadline, conn: session.conn });
    const notify = (): void => {
      this.deps.log.info({ call: session.callId, peer: session.peer, conn: session.conn }, 'peer reconnecting');
      this.deps.events.emit('peer-state', { callId: session.callId, peer: session.peer, state: 'reconnecting', node: this.deps.nodeId });
      this.#notifyLeft(session.callId, session.peer, 'disconnected');
    };
    const leave = async (): Promise<void> => {
      const left = await this.deps.directory.leave(session.callId, session.peer, session.conn, t, deadline, frames);
      this.#pendingLeaves.delete(session.conn);
      // A leave retried after the peer came back here must not report it gone.
      if (left && !room.live.has(session.peer)) notify();
      if (room.live.size === 0) await this.deps.directory.forgetLocalRoom(session.callId).catch(() => undefined);
    };
    this.#track(leave().catch((err: unknown) => {
      const dormant = room.dormant.get(session.peer);
      // The peer came back (here, or elsewhere and this node was told) while the leave was in flight.
      if (dormant?.conn !== session.conn) return;
      this.deps.log.warn({ err, call: session.callId, peer: session.peer }, 'leave not recorded (directory unavailable); will retry');
      dormant.leaveFailed = true;
      this.#pendingLeaves.set(session.conn, leave);
      for (const peer of otherPeers(session.peer)) {
        const local = room.live.get(peer);
        if (local) this.#deliverLocal(local, body('peer-left', { peer: session.peer, reason: 'disconnected', reconnecting: true, grace_ms: this.deps.settings.reconnectGraceMs }), preciseNow());
      }
    }));
  }

  /**
   * Sends a frame body to one peer wherever it is; true when it was delivered, published or
   * stored for replay. A peer on this node is served synchronously (the value is a boolean, no
   * promise is made); otherwise work before the first await is synchronous, so frames keep
   * their order.
   */
  route(callId: string, peer: string, frameBody: string, hint?: Hint, t0 = preciseNow(), hop = 0): boolean | Promise<boolean> {
    const room = this.#rooms.get(callId);
    if (hint && room && hint.peer !== peer) this.#applyHint(room, hint);
    const local = room?.live.get(peer);
    if (local) {
      this.#deliverLocal(local, frameBody, t0);
      return true;
    }
    const cached = room?.remote.get(peer);
    if (cached?.state === 'connected' && cached.node !== this.deps.nodeId) return this.#publishTo(cached.node, callId, peer, frameBody, hint, t0, hop);
    return this.#routeAway(room, callId, peer, frameBody, hint, t0, hop);
  }

  /** `route` for a peer this node does not know to be connected: the directory decides. */
  async #routeAway(room: LocalRoom | undefined, callId: string, peer: string, frameBody: string, hint: Hint | undefined, t0: number, hop: number): Promise<boolean> {
    try {
      const outcome = await this.deps.directory.appendOffline(callId, peer, frameBody);
      if ('seq' in outcome) return true;
      if ('node' in outcome) {
        if (outcome.node === this.deps.nodeId || hop > 0) return false;
        room?.remote.set(peer, { node: outcome.node, state: 'connected' });
        return this.#publishTo(outcome.node, callId, peer, frameBody, hint, t0, hop + 1);
      }
      return false;
    } catch (err) {
      this.deps.log.debug({ err, call: callId, peer }, 'frame for an absent peer not stored');
      return false;
    }
  }

  /** Handles a message on this node's channel (frames relayed from other nodes). */
  onNodeMessage(message: BrokerMessage): void {
    const p = message.payload;
    const cuts: number[] = [];
    let at = -1;
    for (let i = 0; i < 6; i += 1) {
      at = p.indexOf('\n', at + 1);
      if (at < 0) return;
      cuts.push(at);
    }
    const field = (i: number): string => p.slice(i === 0 ? 0 : cuts[i - 1]! + 1, cuts[i]);
    const kind = field(0);
    const callId = field(1);
    const peer = field(2);
    const t0 = Number(field(3));
    const hop = Number(field(4));
    const hintRaw = field(5);
    const frameBody = p.slice(cuts[5]! + 1);
    const room = this.#rooms.get(callId);
    if (kind === 'x') {
      const session = room?.live.get(peer);
      if (room && session && session.conn === frameBody) this.#replacedElsewhere(room, session, message.from, t0);
      return;
    }
    if (kind === 'r') {
      // Frames a replaced socket on the sending node was sent but the replay buffer may not hold:
      // the client has those up to its join's last_seq; the rest it gets now, sequenced anew.
      const session = room?.live.get(peer);
      const handover = session?.handover;
      if (!session || !handover) return;
      session.handover = undefined;
      const held = this.#takeHeld(session);
      for (const frame of frameBody ? frameBody.split('\n') : []) {
        const old = seqOf(frame);
        if (old > handover.after && old <= handover.upTo && !handover.replayed.has(old)) this.#deliverLocal(session, withoutSeq(frame), Number.NaN);
      }
      for (const q of held) this.#deliverLocal(session, q.body, q.t0);
      return;
    }
    let hint: Hint | undefined;
    if (hintRaw) {
      const [hp, hn, hs] = hintRaw.split('|') as [string, string, PeerState];
      hint = { peer: hp, node: hn, state: hs };
    }
    if (hint && room) this.#applyHint(room, hint);
    if (kind !== 'd') return;
    const local = room?.live.get(peer);
    if (local) {
      this.#deliverLocal(local, frameBody, t0, 'remote');
      return;
    }
    if (room) room.remote.delete(peer);
    void this.route(callId, peer, frameBody, undefined, t0, hop + 1);
  }

  /** Handles a call-state published by another node (or by the calls API). */
  onCallsMessage(message: BrokerMessage): void {
    let data: CallAnnouncement;
    try {
      data = JSON.parse(message.payload) as CallAnnouncement;
    } catch {
      return;
    }
    this.applyAnnouncement(data);
  }

  /** Pushes an announced call state to this node's sockets of that call when it is newer than ours. */
  applyAnnouncement(data: CallAnnouncement): void {
    const room = this.#rooms.get(data.call_id);
    if (!room || typeof data.version !== 'number') return;
    this.#applyCall(data.call_id, {
      ...room.call, status: data.status, endReason: data.end_reason, version: data.version,
      answeredAt: data.answered_at ?? room.call.answeredAt,
    });
  }

  /** No dead-node sweep before this time (ms): after a Redis outage every node must heartbeat again first. */
  holdDeadNodeSweepUntil = 0;

  /**
   * Writes the frames delivered since the last flush to the peers' replay buffers (run every
   * `SIGNAL_REPLAY_FLUSH_MS`). Flushes never overlap, so a peer's frames reach Redis in order.
   */
  async flushReplay(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    this.#flushing = this.#writeBehind(true).finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** One maintenance pass: retried leaves, grace expiry, dead nodes, activations, ticks. */
  async sweep(aliveNodes: () => Promise<string[]>): Promise<void> {
    const { directory, log, settings } = this.deps;
    for (const [conn, leave] of [...this.#pendingLeaves]) {
      this.#pendingLeaves.delete(conn);
      await leave().catch(() => this.#pendingLeaves.set(conn, leave));
    }
    const t = now();
    let claimed: Array<{ callId: string; peer: string }> | null = null;
    try {
      claimed = await directory.claimExpiredGrace(t, 100, GRACE_CLAIM_LEASE_MS);
      this.#directoryReachedAt = t;
    } catch (err) {
      log.debug({ err }, 'grace periods unavailable (directory unreachable); using local deadlines');
    }
    if (claimed) {
      for (const { callId, peer } of claimed) {
        log.info({ call: callId, peer }, 'reconnect grace expired');
        this.#expireGrace(callId, peer, true)?.then(async (over) => {
          if (over) await directory.releaseGrace(callId, peer);
        }).catch((err: unknown) => log.debug({ err, call: callId }, 'grace entry not released; it comes due again'));
      }
    } else {
      this.#expireLocalGrace(t);
    }
    try {
      const alive = t < this.holdDeadNodeSweepUntil ? null : await aliveNodes();
      if (alive) {
        await directory.sweepDeadNodes(alive, t, t + settings.reconnectGraceMs, DEAD_NODE_ROOMS_PER_SWEEP, ({ callId, peers, node }) => {
          for (const peer of peers) {
            log.warn({ call: callId, peer, deadNode: node }, 'peer lost with its node');
            this.#notifyLeft(callId, peer, 'node_failure');
          }
        });
      }
    } catch (err) {
      log.debug({ err }, 'sweep incomplete (directory unavailable)');
    }
    await this.#retryActivations();
    await this.#ticks(t);
    for (const room of [...this.#idleRooms]) {
      if (t - room.idleSince > settings.reconnectGraceMs * 2 && !this.#awaitsLocalExpiry(room)) this.#forgetRoom(room);
    }
  }

  /**
   * Ends a call whose peer's grace period ran out, in the background: `ended`/`failure` if it is
   * active, else `failed`/`failure`, retrying storage failures. Resolves true once the call is
   * over or the peer is back, false when storage kept failing (the caller tries again later).
   * Null when this node is already ending the call. `viaDirectory`: the expiry came from the
   * directory's grace zset (else from this node's own deadline while the directory is unreachable).
   */
  #expireGrace(callId: string, peer: string, viaDirectory: boolean): Promise<boolean> | null {
    if (this.#ending.has(callId)) return null;
    this.#ending.add(callId);
    const work = this.#endForFailure(callId, peer, viaDirectory).finally(() => this.#ending.delete(callId));
    this.#track(work);
    return work;
  }

  async #endForFailure(callId: string, peer: string, viaDirectory: boolean): Promise<boolean> {
    const at = new Date();
    for (let round = 0; round < 3; round++) {
      if (await this.#peerIsBack(callId, peer)) {
        this.deps.log.info({ call: callId, peer }, 'grace expiry dropped: the peer is back');
        return true;
      }
      const call = await this.#read(callId);
      if (call === undefined) return false;
      if (call === null) return true;
      if (isTerminal(call.status)) {
        this.#applyCall(callId, snapshotOf(call));
        if (viaDirectory) this.deps.directory.clearRoom(callId, PEERS).catch(() => undefined);
        return true;
      }
      const to: CallStatus = call.status === 'active' ? 'ended' : 'failed';
      const outcome = await this.#storeTransition(callId, to, 'failure', at);
      if (outcome.kind === 'unavailable') return false;
      if (outcome.kind === 'done') {
        this.#settle(callId, to, call.status, outcome.result);
        return true;
      }
      if (outcome.err.code === 'not_found') return true;
    }
    return true;
  }

  async #peerIsBack(callId: string, peer: string): Promise<boolean> {
    if (this.#rooms.get(callId)?.live.has(peer)) return true;
    try {
      return (await this.deps.directory.members(callId)).get(peer)?.state === 'connected';
    } catch {
      return false;
    }
  }

  /**
   * The directory's grace zset cannot expire anyone while it is unreachable, so meanwhile this
   * node expires the peers that dropped from its own sockets: a dormant peer whose deadline has
   * passed, that has not come back here, and whose deadline fell after the directory was last
   * reached (before that, the directory was in charge of it).
   */
  #expireLocalGrace(t: number): void {
    for (const room of this.#rooms.values()) {
      if (isTerminal(room.call.status) || this.#ending.has(room.callId)) continue;
      for (const [peer, dormant] of room.dormant) {
        if (dormant.deadline > t || dormant.deadline <= this.#directoryReachedAt || room.live.has(peer)) continue;
        this.deps.log.warn({ call: room.callId, peer }, 'reconnect grace expired (directory unreachable; local deadline)');
        void this.#expireGrace(room.callId, peer, false);
        break;
      }
    }
  }

  /** True while a dormant peer of `room` may still need `#expireLocalGrace`. */
  #awaitsLocalExpiry(room: LocalRoom): boolean {
    if (isTerminal(room.call.status)) return false;
    for (const dormant of room.dormant.values()) if (dormant.deadline > this.#directoryReachedAt) return true;
    return false;
  }

  /**
   * After the directory was unreachable: re-reads every local call from the store, since the
   * announcements of transitions made meanwhile could not be published (a call that ended is
   * pushed and closed here), then re-registers the local peers of the calls still going.
   */
  async resync(): Promise<void> {
    const rooms = [...this.#rooms.values()].filter((room) => !isTerminal(room.call.status));
    for (const batch of inBatches(rooms, RESYNC_READ_BATCH)) await Promise.all(batch.map((room) => this.refreshCall(room.callId)));
    await this.#reregister();
  }

  async #reregister(): Promise<void> {
    for (const room of this.#rooms.values()) {
      for (const session of room.live.values()) {
        if (session.phase !== 'joined') continue;
        const member: MemberRecord = { node: this.deps.nodeId, conn: session.conn, user: session.user, state: 'connected', since: now() };
        try {
          const outcome = await this.deps.directory.join(room.callId, session.peer, member, undefined);
          // A dead-node sweep that took this node for dead raised the counter by a gap: number above it.
          session.seq = Math.max(session.seq, outcome.seq);
          for (const [peer, record] of outcome.members) {
            if (peer !== session.peer && !room.live.has(peer)) room.remote.set(peer, { node: record.node, state: record.state });
          }
          for (const frameBody of outcome.parked) this.#deliverLocal(session, frameBody, Number.NaN);
        } catch {
          return;
        }
      }
    }
  }

  /** Every open session on this node (drain, timers). */
  *sessions(): Iterable<Session> {
    for (const room of this.#rooms.values()) yield* room.live.values();
  }

  /** Resolves when every in-flight leave and write-behind has finished. */
  async settle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await this.#flushing;
    await this.#writeBehind(false);
  }

  /**
   * Writes the pending frames of every live peer that has some (the `#unpersisted` set, so idle
   * sockets cost nothing) to its replay buffer, WRITE_BEHIND_BATCH peers per directory call, one
   * call at a time, so a node with thousands of busy sockets neither floods Redis nor stalls its
   * event loop. `keepOnFailure` puts a failed batch back for the next sweep.
   */
  async #writeBehind(keepOnFailure: boolean): Promise<void> {
    const work: Array<PendingFrames & { session: Session }> = [];
    for (const session of this.#unpersisted) {
      this.#unpersisted.delete(session);
      if (!session.pending?.length || this.#rooms.get(session.callId)?.live.get(session.peer) !== session) continue;
      const frames = session.takePending();
      session.writing = frames;
      work.push({ callId: session.callId, peer: session.peer, frames, session });
    }
    for (const current of inBatches(work, WRITE_BEHIND_BATCH)) {
      const written = await this.deps.directory.record(current).then(() => true, () => false);
      for (const { session, frames } of current) {
        // A socket that closed or was replaced meanwhile took these frames (takeUnwritten).
        if (session.writing !== frames) continue;
        session.writing = undefined;
        if (written || !keepOnFailure) continue;
        session.pending = [...frames, ...(session.pending ?? [])];
        this.#unpersisted.add(session);
      }
    }
  }

  #track(promise: Promise<unknown>): void {
    this.#inflight.add(promise);
    void promise.finally(() => this.#inflight.delete(promise));
  }

  /**
   * Claims and emits the billing ticks due on this node's active calls, TICK_CLAIM_BATCH claims
   * per directory round trip. A call's ticks are claimed and emitted in minute order; when the
   * directory fails, this sweep claims nothing more (so no later minute is claimed before an
   * earlier one) and the unclaimed ticks are claimed at the next sweep.
   */
  async #ticks(t: number): Promise<void> {
    const { tickMs } = this.deps.settings;
    const due: Array<{ room: LocalRoom; minute: number }> = [];
    const rooms = this.#tickWheel.takeDue(t);
    for (const room of rooms) {
      const { call } = room;
      if (!this.#ticksHere(room) || call.answeredAt === null) continue;
      const last = Math.floor((t - call.answeredAt) / tickMs);
      for (let minute = room.lastTick + 1; minute <= last; minute += 1) {
        // Ended before this node held the call, and recently: the node that held it claims it first.
        const end = call.answeredAt + minute * tickMs;
        if (end < room.heldSince && t < end + this.deps.settings.tickDeferMs + TICK_WHEEL_RESOLUTION_MS) break;
        due.push({ room, minute });
      }
    }
    try {
      for (const current of inBatches(due, TICK_CLAIM_BATCH)) {
        const won = await this.deps.directory.claimTicks(current.map(({ room, minute }) => ({ callId: room.callId, minute })));
        current.forEach(({ room, minute }, i) => {
          if (minute !== room.lastTick + 1) return;
          room.lastTick = minute;
          if (won[i]) this.#emitTick(room, minute);
        });
      }
    } catch {
      // Claimed nothing more this sweep; the rooms come due again at once, their minutes unclaimed.
    }
    for (const room of rooms) this.#scheduleTick(room);
  }

  #emitTick(room: LocalRoom, minute: number): void {
    const { call } = room;
    if (call.answeredAt === null) return;
    const at = call.answeredAt + minute * this.deps.settings.tickMs;
    // A late minute ended while this node held no participant: none is known to have been connected.
    const late = at < room.heldSince;
    const reconnecting = late ? [...PEERS] : PEERS.filter((p) => !room.live.has(p) && room.remote.get(p)?.state !== 'connected');
    this.deps.log.info({ call: room.callId, minute, reconnecting, late }, 'call tick');
    this.deps.events.emit('tick', { callId: room.callId, minute, at: new Date(at), node: this.deps.nodeId, hostId: call.hostId, guestId: call.guestId, reconnecting, late });
  }

  #notifyLeft(callId: string, peer: string, reason: PeerLeftReason): void {
    const frame = body('peer-left', { peer, reason, reconnecting: true, grace_ms: this.deps.settings.reconnectGraceMs });
    const hint: Hint = { peer, node: '', state: 'reconnecting' };
    const room = this.#rooms.get(callId);
    if (room) this.#applyHint(room, hint);
    for (const other of otherPeers(peer)) void this.route(callId, other, frame, hint);
  }

  #applyHint(room: LocalRoom, hint: Hint): void {
    if (room.live.has(hint.peer)) return;
    const dormant = hint.state === 'connected' ? room.dormant.get(hint.peer) : undefined;
    if (dormant) {
      // Back on another node: its grace here is over (this node must not end the call by it
      // while Redis is down), and so is a leave still waiting for Redis.
      room.dormant.delete(hint.peer);
      this.#pendingLeaves.delete(dormant.conn);
      if (room.live.size === 0) this.deps.directory.forgetLocalRoom(room.callId).catch(() => undefined);
    }
    const known = room.remote.get(hint.peer);
    room.remote.set(hint.peer, { node: hint.node || known?.node || '', state: hint.state });
  }

  #applyCall(callId: string, call: CallSnapshot): void {
    const room = this.#rooms.get(callId);
    if (!room || call.version <= room.call.version) return;
    const becameActive = call.status === 'active' && room.call.status !== 'active';
    room.call = call;
    if (becameActive && call.answeredAt !== null) {
      room.lastTick = Math.max(0, Math.floor((now() - call.answeredAt) / this.deps.settings.tickMs));
      this.#scheduleTick(room);
    }
    const frame = body('call-state', stateData(callId, call));
    const t0 = preciseNow();
    if (isTerminal(call.status)) for (const session of room.live.values()) for (const ack of this.#hangupAcks.get(session) ?? []) ack();
    for (const session of [...room.live.values()]) {
      // The socket closes next: what a handover hold keeps goes out before the final state.
      if (isTerminal(call.status)) this.#releaseHeld(session);
      this.#deliverLocal(session, frame, t0);
    }
    if (isTerminal(call.status)) {
      for (const session of [...room.live.values()]) session.io.close(CLOSE_CODES.CALL_ENDED, `call ${call.status}`);
      this.#forgetRoom(room);
    }
  }

  /** Drops a room from this node's bookkeeping. */
  #forgetRoom(room: LocalRoom): void {
    if (this.#rooms.get(room.callId) === room) this.#rooms.delete(room.callId);
    this.#idleRooms.delete(room);
    this.#activationPending.delete(room);
    this.#tickWheel.cancel(room);
  }

  /** True while this node takes part in claiming `room`'s billing ticks: the call is active and has a socket here. */
  #ticksHere(room: LocalRoom): boolean {
    return room.call.status === 'active' && room.call.answeredAt !== null && room.live.size > 0 && this.#rooms.get(room.callId) === room;
  }

  /** Files an active room with a socket here under its next billing tick (sooner if it was filed later). */
  #scheduleTick(room: LocalRoom): void {
    const { answeredAt } = room.call;
    if (!this.#ticksHere(room) || answeredAt === null) return;
    this.#tickWheel.scheduleNoLaterThan(room, answeredAt + (room.lastTick + 1) * this.deps.settings.tickMs);
  }

  /** Holds `session`'s newer frames (starting with `queued`) until the handed-back ones arrive, at most HANDOVER_HOLD_MS. */
  #holdForHandover(session: Session, queued: Array<{ body: string; t0: number }>): void {
    session.queued = queued;
    session.holdTimer = setTimeout(() => this.#releaseHeld(session), HANDOVER_HOLD_MS);
    session.holdTimer.unref();
  }

  /** Ends a handover hold: the frames it held, to be delivered by the caller. */
  #takeHeld(session: Session): Array<{ body: string; t0: number }> {
    if (!session.holdTimer) return [];
    clearTimeout(session.holdTimer);
    session.holdTimer = undefined;
    const held = session.queued ?? [];
    session.queued = undefined;
    return held;
  }

  /** Ends a handover hold and delivers what it held. */
  #releaseHeld(session: Session): void {
    for (const q of this.#takeHeld(session)) this.#deliverLocal(session, q.body, q.t0);
  }

  #deliverLocal(session: Session, frameBody: string, t0: number, path: 'local' | 'remote' = 'local'): void {
    if (session.phase === 'closed') return;
    if (session.queued) {
      session.queued.push({ body: frameBody, t0 });
      return;
    }
    session.seq += 1;
    const frame = withSeq(session.seq, frameBody);
    session.remember(frame, this.deps.settings.replayBuffer);
    this.#unpersisted.add(session);
    if (this.#send(session, frame, typeOfBody(frameBody)) && !Number.isNaN(t0)) {
      this.deps.metrics.relayLatency.observe(path, Math.max(0, preciseNow() - t0) / 1000);
    }
  }

  #send(session: Session, text: string, type: string): boolean {
    const sent = session.io.send(text);
    if (sent) this.deps.metrics.framesOut.add(type);
    return sent;
  }

  #publishTo(node: string, callId: string, peer: string, frameBody: string, hint: Hint | undefined, t0: number, hop: number): Promise<boolean> {
    const payload = nodeMessage('d', callId, peer, hint, frameBody, t0, hop);
    return this.deps.broker.publish(this.deps.broker.nodeChannel(node), payload).then(
      (receivers) => receivers > 0 || this.#park(callId, peer, frameBody),
      () => {
        this.deps.metrics.publishFailures.inc();
        return false;
      },
    );
  }

  /** Keeps a frame whose target node no longer listens until the peer resumes (or is marked gone). */
  #park(callId: string, peer: string, frameBody: string): Promise<boolean> {
    return this.deps.directory.park(callId, peer, frameBody).then(() => {
      this.deps.metrics.parked.inc();
      return true;
    }, (err: unknown) => {
      this.deps.log.debug({ err, call: callId, peer }, 'frame for a peer on a silent node not parked');
      return false;
    });
  }

  /**
   * Closes a socket whose peer joined again on `node`, and stops routing to it here: frames for
   * that peer go to `node` from now on. The peer is not reconnecting, so nobody is told.
   */
  #replacedElsewhere(room: LocalRoom, session: Session, node: string, knownSeq: number): void {
    session.replaced = true;
    this.#releaseHeld(session);
    const unwritten = session.takeUnwritten();
    session.io.close(CLOSE_CODES.REPLACED, 'replaced by a newer connection');
    room.dormant.delete(session.peer);
    room.remote.set(session.peer, { node, state: 'connected' });
    if (this.#dropLive(room, session.peer)) this.deps.directory.forgetLocalRoom(room.callId).catch(() => undefined);
    void this.#handBack(room.callId, session.peer, node, unwritten, knownSeq);
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
      const stored = await this.deps.directory.replayAfter(callId, peer, knownSeq).catch(() => []);
      if (stored.length > 0) {
        const bySeq = new Map([...stored, ...unwritten].map((f) => [seqOf(f), f]));
        frames = [...bySeq.values()].sort((a, b) => seqOf(a) - seqOf(b));
      }
    }
    await this.#tellNode(node, nodeMessage('r', callId, peer, undefined, frames.join('\n')));
  }

  /** Removes `peer`'s socket from the room; true when that left the room with no socket here (it is then idle). */
  #dropLive(room: LocalRoom, peer: string): boolean {
    room.live.delete(peer);
    if (room.live.size > 0) return false;
    room.idleSince = now();
    this.#idleRooms.add(room);
    return true;
  }

  /** Tells `node`, where `peer` dropped, that it is connected here now (it forgets its grace period there). */
  #tellBack(node: string, callId: string, peer: string): void {
    void this.#tellNode(node, nodeMessage('h', callId, peer, { peer, node: this.deps.nodeId, state: 'connected' }, ''));
  }

  /** Asks `node` to close the socket `conn` of `peer` (it was replaced by a newer one). */
  kick(node: string, callId: string, peer: string, conn: string, knownSeq: number): Promise<boolean> {
    return this.#tellNode(node, nodeMessage('x', callId, peer, undefined, conn, knownSeq));
  }

  /** Publishes a control message to `node`: true when a node received it; a failure is only counted. */
  #tellNode(node: string, payload: string): Promise<boolean> {
    return this.deps.broker.publish(this.deps.broker.nodeChannel(node), payload).then((receivers) => receivers > 0, () => {
      this.deps.metrics.publishFailures.inc();
      return false;
    });
  }

  /** The member record of a socket on this node. */
  #liveMember(session: Session): MemberRecord {
    return { node: this.deps.nodeId, conn: session.conn, user: session.user, state: 'connected', since: session.openedAt };
  }

  #localMembers(room: LocalRoom): Map<string, MemberRecord> {
    const members = new Map<string, MemberRecord>();
    for (const [peer, s] of room.live) members.set(peer, this.#liveMember(s));
    for (const [peer, r] of room.remote) if (!members.has(peer)) members.set(peer, { node: r.node, conn: '', user: '', state: r.state, since: 0 });
    return members;
  }

  #room(callId: string, call: CallSnapshot): LocalRoom {
    let room = this.#rooms.get(callId);
    if (!room) {
      room = new LocalRoom(callId, call);
      // Minutes no node claimed because none held a participant then (both dropped, or their node
      // died or drained across a minute's end) are claimed from here, `late`.
      const { tickMs, tickCatchUpMs } = this.deps.settings;
      if (call.status === 'active' && call.answeredAt !== null) room.lastTick = Math.max(0, Math.floor((now() - call.answeredAt - tickCatchUpMs) / tickMs));
      this.#rooms.set(callId, room);
    }
    return room;
  }

  #reply(session: Session, id: string | undefined, code: ErrorCode, message: string): void {
    this.#send(session, JSON.stringify({ type: 'error', ...(id ? { id } : {}), data: { code, message } }), 'error');
  }

  #refuse(session: Session, id: string | undefined, code: ErrorCode, message: string, close: number): void {
    this.#reply(session, id, code, message);
    session.io.close(close, message);
  }
}

/** The `type` of a frame body built by `body()` (`{"type":"…",…`). */
function typeOfBody(frameBody: string): string {
  const end = frameBody.indexOf('"', 9);
  return end > 9 ? frameBody.slice(9, end) : 'unknown';
}
