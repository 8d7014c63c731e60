import { PEERS } from '../../shared/calls/index.js';
import type { SequencedFrames } from '../../shared/protocol/index.js';
import { encodeSequenced } from '../../shared/protocol/index.js';
import type { Session } from '../session/session.js';
import { preciseNow } from '../clock.js';
import { withSeq } from './directory.js';
import type { RoomJobs, RoomsContext } from './context.js';
import { encodeNodeMessage, type Hint } from './node-channel.js';
import type { SignalMetrics } from '../metrics.js';
import type { Participant, Room } from './room.js';

const OTHER_PEERS = new Map<string, readonly string[]>(PEERS.map((peer) => [peer, PEERS.filter((p) => p !== peer)]));

/** Every participant slot but `peer` (precomputed: this runs for every relayed frame). */
export function otherPeers(peer: string): readonly string[] {
  return OTHER_PEERS.get(peer) ?? PEERS;
}

/** A relayed frame's body: the sender's data without `to`, plus `from`. */
function relayBody(type: string, from: string, data: Record<string, unknown>): string {
  const t = type as keyof SequencedFrames;
  if (data['to'] === undefined) return encodeSequenced(t, { from, ...data } as never);
  const { to: _to, ...rest } = data;
  return encodeSequenced(t, { from, ...rest } as never);
}

/** The `type` of a frame body built by `encodeSequenced` (`{"type":"…",…`). */
function typeOfBody(frameBody: string): string {
  const end = frameBody.indexOf('"', 9);
  return end > 9 ? frameBody.slice(9, end) : 'unknown';
}

/**
 * The relay's hot path: a frame for a peer on this node is sequenced and sent straight to its
 * socket; for a peer on another node it is published once on that node's channel; for a peer
 * that is reconnecting it goes to its replay buffer. A frame body is serialized once and never
 * parsed again on its way.
 */
export class Relay {
  // Read once: `deliver` runs for every frame to every local socket.
  readonly #rooms: Map<string, Room>;
  readonly #unpersisted: Set<Participant>;
  readonly #metrics: SignalMetrics;
  readonly #replayBuffer: number;
  readonly #nodeId: string;

  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {
    this.#rooms = ctx.rooms;
    this.#unpersisted = ctx.unpersisted;
    this.#metrics = ctx.deps.metrics;
    this.#replayBuffer = ctx.settings.replayBuffer;
    this.#nodeId = ctx.nodeId;
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
   * Sends a frame body to one peer wherever it is; true when it was delivered, published or
   * stored for replay. A peer on this node is served synchronously (the value is a boolean, no
   * promise is made); otherwise work before the first await is synchronous, so frames keep
   * their order.
   */
  route(callId: string, peer: string, frameBody: string, hint?: Hint, t0 = preciseNow(), hop = 0): boolean | Promise<boolean> {
    const room = this.#rooms.get(callId);
    if (hint && room && hint.peer !== peer) this.jobs.grace.applyHint(room, hint);
    const local = room?.live.get(peer);
    if (local) {
      this.deliver(local, frameBody, t0);
      return true;
    }
    const cached = room?.remote.get(peer);
    if (cached?.state === 'connected' && cached.node !== this.#nodeId) return this.#publishTo(cached.node, callId, peer, frameBody, hint, t0, hop);
    return this.#routeAway(room, callId, peer, frameBody, hint, t0, hop);
  }

  /** A frame another node published for a peer it believes is here (`d`). */
  fromNode(callId: string, peer: string, frameBody: string, hint: Hint | undefined, t0: number, hop: number): void {
    const room = this.ctx.rooms.get(callId);
    if (hint && room) this.jobs.grace.applyHint(room, hint);
    const local = room?.live.get(peer);
    if (local) {
      this.deliver(local, frameBody, t0, 'remote');
      return;
    }
    if (room) room.remote.delete(peer);
    void this.route(callId, peer, frameBody, undefined, t0, hop + 1);
  }

  /**
   * Sequences a frame body for a participant here and sends it (queued instead while it joins or
   * holds for a handover); the frame is remembered for the replay write-behind.
   */
  deliver(participant: Participant, frameBody: string, t0: number, path: 'local' | 'remote' = 'local'): void {
    if (participant.session.phase === 'closed') return;
    if (participant.queued) {
      participant.queued.push({ body: frameBody, t0 });
      return;
    }
    participant.seq += 1;
    const frame = withSeq(participant.seq, frameBody);
    participant.remember(frame, this.#replayBuffer);
    this.#unpersisted.add(participant);
    if (this.send(participant.session, frame, typeOfBody(frameBody)) && !Number.isNaN(t0)) {
      this.#metrics.relayLatency.observe(path, Math.max(0, preciseNow() - t0) / 1000);
    }
  }

  /** Sends one encoded frame to a socket, counting it by `type`; false when it was not sent. */
  send(session: Session, text: string, type: string): boolean {
    const sent = session.io.send(text);
    if (sent) this.#metrics.framesOut.add(type);
    return sent;
  }

  /** Publishes a node message to `node`: true when a node received it; a failure is only counted. */
  tellNode(node: string, payload: string): Promise<boolean> {
    const { broker, metrics } = this.ctx.deps;
    return broker.publish(broker.nodeChannel(node), payload).then((receivers) => receivers > 0, () => {
      metrics.publishFailures.inc();
      return false;
    });
  }

  /** `route` for a peer this node does not know to be connected: the directory decides. */
  async #routeAway(room: Room | undefined, callId: string, peer: string, frameBody: string, hint: Hint | undefined, t0: number, hop: number): Promise<boolean> {
    try {
      const outcome = await this.ctx.replay.appendOffline(callId, peer, frameBody);
      if ('seq' in outcome) return true;
      if ('node' in outcome) {
        if (outcome.node === this.ctx.nodeId || hop > 0) return false;
        room?.remote.set(peer, { node: outcome.node, state: 'connected' });
        return this.#publishTo(outcome.node, callId, peer, frameBody, hint, t0, hop + 1);
      }
      return false;
    } catch (err) {
      this.ctx.deps.log.debug({ err, call: callId, peer }, 'frame for an absent peer not stored');
      return false;
    }
  }

  #publishTo(node: string, callId: string, peer: string, frameBody: string, hint: Hint | undefined, t0: number, hop: number): Promise<boolean> {
    const { broker, metrics } = this.ctx.deps;
    const payload = encodeNodeMessage({ kind: 'd', callId, peer, t0, hop, hint, body: frameBody });
    return broker.publish(broker.nodeChannel(node), payload).then(
      (receivers) => receivers > 0 || this.#park(callId, peer, frameBody),
      () => {
        metrics.publishFailures.inc();
        return false;
      },
    );
  }

  /** Keeps a frame whose target node no longer listens until the peer resumes (or is marked gone). */
  #park(callId: string, peer: string, frameBody: string): Promise<boolean> {
    const { metrics, log } = this.ctx.deps;
    return this.ctx.replay.park(callId, peer, frameBody).then(() => {
      metrics.parked.inc();
      return true;
    }, (err: unknown) => {
      log.debug({ err, call: callId, peer }, 'frame for a peer on a silent node not parked');
      return false;
    });
  }
}
