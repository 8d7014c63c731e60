import { PEERS, isTerminal, type CallStatus } from '../../shared/calls/index.js';
import type { MemberRecord } from './directory.js';
import type { RoomJobs, RoomsContext } from './context.js';
import { snapshotOf, type Room } from './room.js';
import { inBatches } from './write-behind.js';

/** How long a claimed grace expiry stays with its claimer before another sweep may take it again. */
export const GRACE_CLAIM_LEASE_MS = 10_000;
/** Expired grace periods one sweep claims at most. */
export const GRACE_CLAIMS_PER_SWEEP = 100;
/**
 * Rooms of each dead node one sweep marks at most: more than a node holds (~10,000 calls with
 * 20,000 sockets), so every participant of a dead node is marked by the first sweep after its
 * liveness key expires, in round trips of 50 rooms.
 */
export const DEAD_NODE_ROOMS_PER_SWEEP = 50_000;
/** Calls re-read from the store at once after a Redis outage (one MongoDB query each). */
export const RESYNC_READ_BATCH = 50;
/** Rounds of re-read-then-transition when ending a call whose grace ran out. */
export const GRACE_END_ROUNDS = 3;
/** An idle room (no socket here) is forgotten this many grace periods after it went idle. */
export const IDLE_ROOM_GRACE_PERIODS = 2;

/**
 * The periodic sweeps: grace periods that ran out end their call (`failure`), rooms of dead nodes
 * are marked reconnecting, idle rooms are forgotten; and, after a directory outage, the resync.
 */
export class Sweeps {
  /** Calls this node is ending because a grace period ran out (one attempt per call at a time). */
  readonly #ending = new Set<string>();
  /** When a sweep last reached the directory's grace periods (ms since the epoch; 0: never). */
  #directoryReachedAt = 0;
  /** No dead-node sweep before this time (ms): after a Redis outage every node must heartbeat again first. */
  holdDeadNodeSweepUntil = 0;

  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {}

  /** Ends the calls whose grace ran out: as the directory hands them out, or by local deadlines while it is unreachable. */
  async expireGrace(t: number): Promise<void> {
    const { log } = this.ctx.deps;
    const { leases } = this.ctx;
    let claimed: Array<{ callId: string; peer: string }> | null = null;
    try {
      claimed = await leases.claimExpiredGrace(t, GRACE_CLAIMS_PER_SWEEP, GRACE_CLAIM_LEASE_MS);
      this.#directoryReachedAt = t;
    } catch (err) {
      log.debug({ err }, 'grace periods unavailable (directory unreachable); using local deadlines');
    }
    if (!claimed) return this.#expireLocalGrace(t);
    for (const { callId, peer } of claimed) {
      log.info({ call: callId, peer }, 'reconnect grace expired');
      this.#expire(callId, peer, true)?.then(async (over) => {
        if (over) await leases.releaseGrace(callId, peer);
      }).catch((err: unknown) => log.debug({ err, call: callId }, 'grace entry not released; it comes due again'));
    }
  }

  /** Marks the connected peers of nodes not in `alive` reconnecting, and tells their other peers. */
  async sweepDeadNodes(t: number, aliveNodes: () => Promise<string[]>): Promise<void> {
    const { log, settings } = this.ctx.deps;
    try {
      const alive = t < this.holdDeadNodeSweepUntil ? null : await aliveNodes();
      if (!alive) return;
      await this.ctx.membership.sweepDeadNodes(alive, t, t + settings.reconnectGraceMs, DEAD_NODE_ROOMS_PER_SWEEP, ({ callId, peers, node }) => {
        for (const peer of peers) {
          log.warn({ call: callId, peer, deadNode: node }, 'peer lost with its node');
          this.jobs.grace.notifyLeft(callId, peer, 'node_failure');
        }
      });
    } catch (err) {
      log.debug({ err }, 'sweep incomplete (directory unavailable)');
    }
  }

  /** Forgets rooms idle for IDLE_ROOM_GRACE_PERIODS grace periods (unless a local expiry may still need them). */
  forgetIdleRooms(t: number): void {
    for (const room of [...this.ctx.idleRooms]) {
      if (t - room.idleSince > this.ctx.settings.reconnectGraceMs * IDLE_ROOM_GRACE_PERIODS && !this.#awaitsLocalExpiry(room)) this.ctx.forget(room);
    }
  }

  /**
   * After the directory was unreachable: re-reads every local call from the store, since the
   * announcements of transitions made meanwhile could not be published (a call that ended is
   * pushed and closed here), then re-registers the local peers of the calls still going.
   */
  async resync(): Promise<void> {
    const rooms = [...this.ctx.rooms.values()].filter((room) => !isTerminal(room.call.status));
    for (const batch of inBatches(rooms, RESYNC_READ_BATCH)) await Promise.all(batch.map((room) => this.jobs.lifecycle.refreshCall(room.callId)));
    await this.#reregister();
  }

  async #reregister(): Promise<void> {
    for (const room of this.ctx.rooms.values()) {
      for (const participant of room.live.values()) {
        const { session } = participant;
        if (session.phase !== 'joined') continue;
        const member: MemberRecord = { node: this.ctx.nodeId, conn: session.conn, user: session.user, state: 'connected', since: this.ctx.now() };
        try {
          const outcome = await this.ctx.membership.join(room.callId, session.peer, member, undefined);
          // A dead-node sweep that took this node for dead raised the counter by a gap: number above it.
          participant.seq = Math.max(participant.seq, outcome.seq);
          for (const [peer, record] of outcome.members) {
            if (peer !== session.peer && !room.live.has(peer)) room.remote.set(peer, { node: record.node, state: record.state });
          }
          for (const frameBody of outcome.parked) this.jobs.relay.deliver(participant, frameBody, Number.NaN);
        } catch {
          return;
        }
      }
    }
  }

  /**
   * Ends a call whose peer's grace period ran out, in the background: `ended`/`failure` if it is
   * active, else `failed`/`failure`, retrying storage failures. Resolves true once the call is
   * over or the peer is back, false when storage kept failing (the caller tries again later).
   * Null when this node is already ending the call. `viaDirectory`: the expiry came from the
   * directory's grace zset (else from this node's own deadline while the directory is unreachable).
   */
  #expire(callId: string, peer: string, viaDirectory: boolean): Promise<boolean> | null {
    if (this.#ending.has(callId)) return null;
    this.#ending.add(callId);
    const work = this.#endForFailure(callId, peer, viaDirectory).finally(() => this.#ending.delete(callId));
    this.ctx.track(work);
    return work;
  }

  async #endForFailure(callId: string, peer: string, viaDirectory: boolean): Promise<boolean> {
    const { lifecycle } = this.jobs;
    const at = new Date(this.ctx.now());
    for (let round = 0; round < GRACE_END_ROUNDS; round++) {
      if (await this.#peerIsBack(callId, peer)) {
        this.ctx.deps.log.info({ call: callId, peer }, 'grace expiry dropped: the peer is back');
        return true;
      }
      const call = await lifecycle.read(callId);
      if (call === undefined) return false;
      if (call === null) return true;
      if (isTerminal(call.status)) {
        lifecycle.applyCall(callId, snapshotOf(call));
        if (viaDirectory) this.ctx.membership.clearRoom(callId, PEERS).catch(() => undefined);
        return true;
      }
      const to: CallStatus = call.status === 'active' ? 'ended' : 'failed';
      const outcome = await lifecycle.storeTransition(callId, to, 'failure', at, 'system');
      if (outcome.kind === 'unavailable') return false;
      if (outcome.kind === 'done') {
        lifecycle.settle(callId, to, call.status, outcome.result);
        return true;
      }
      if (outcome.err.code === 'not_found') return true;
    }
    return true;
  }

  async #peerIsBack(callId: string, peer: string): Promise<boolean> {
    if (this.ctx.rooms.get(callId)?.live.has(peer)) return true;
    try {
      return (await this.ctx.membership.members(callId)).get(peer)?.state === 'connected';
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
    for (const room of this.ctx.rooms.values()) {
      if (isTerminal(room.call.status) || this.#ending.has(room.callId)) continue;
      for (const [peer, dormant] of room.dormant) {
        if (dormant.deadline > t || dormant.deadline <= this.#directoryReachedAt || room.live.has(peer)) continue;
        this.ctx.deps.log.warn({ call: room.callId, peer }, 'reconnect grace expired (directory unreachable; local deadline)');
        void this.#expire(room.callId, peer, false);
        break;
      }
    }
  }

  /** True while a dormant peer of `room` may still need `#expireLocalGrace`. */
  #awaitsLocalExpiry(room: Room): boolean {
    if (isTerminal(room.call.status)) return false;
    for (const dormant of room.dormant.values()) if (dormant.deadline > this.#directoryReachedAt) return true;
    return false;
  }
}
