import { pino } from 'pino';
import { vi } from 'vitest';
import type { CallFunding, FundingSource } from '../../../shared/billing/index.js';
import { CachedCallStore, MemoryCallCache, MemoryCallStore, type Call, type CallStatus } from '../../../shared/calls/index.js';
import { newId } from '../../../shared/ids.js';
import type { MediaState } from '../../../shared/protocol/index.js';
import type { SignalingClaims } from '../../../shared/tokens/index.js';
import { MemoryBroker, MemoryHub } from '../../../signal/broker/memory-broker.js';
import type { RoomSettings } from '../../../signal/calls/context.js';
import { CallEvents, type CallEventMap } from '../../../signal/calls/events.js';
import { MemoryDirectory } from '../../../signal/calls/memory-directory.js';
import { NodeLink } from '../../../signal/calls/node-link.js';
import { Rooms } from '../../../signal/calls/rooms.js';
import { SignalMetrics } from '../../../signal/metrics.js';
import { Session, type SessionIo } from '../../../signal/session/session.js';

const log = pino({ level: 'silent' });

export const SETTINGS: RoomSettings = {
  reconnectGraceMs: 2_000, replayBuffer: 64, tickMs: 1_000, tickCatchUpMs: 3_000, tickDeferMs: 200, mediaReportGraceMs: 1_500, maxDurationSec: 3_600,
  ice: { stunUrls: ['stun:stun.example:3478'], turnUrls: [], turnTtlSec: 3600 },
};

/** A frame a client received, parsed. */
export interface Received {
  type: string;
  id?: string;
  seq?: number;
  data?: Record<string, unknown>;
}

/**
 * A client socket as the rooms see it: what it was sent, how it was closed. Closing it runs
 * the node's `socketClosed`, as the signaling route does when uWS reports the close.
 */
export class Client implements SessionIo {
  readonly received: Received[] = [];
  closedWith: { code: number; reason: string } | undefined;
  readonly session: Session;

  constructor(readonly node: Node, claims: SignalingClaims) {
    this.session = new Session(this, newId(), claims, { ratePerSec: 1000, rateBurst: 1000 }, Date.now());
  }

  send(text: string): boolean {
    if (this.closedWith) return false;
    this.received.push(JSON.parse(text) as Received);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    this.node.rooms.socketClosed(this.session);
  }

  join(lastSeq?: number, id = 'j'): Promise<void> {
    return this.node.rooms.join(this.session, lastSeq, id);
  }

  /** Reports the media connection state, as a client does on `RTCPeerConnection` `connectionstatechange`. */
  mediaState(state: MediaState, id?: string): void {
    this.node.rooms.mediaState(this.session, state, id);
  }

  relay(type: string, data: Record<string, unknown>): number | Promise<number> {
    return this.node.rooms.relay(this.session, type, data, Number.NaN);
  }

  /** The frames of `type` received so far. */
  frames(type: string): Received[] {
    return this.received.filter((f) => f.type === type);
  }

  /** The highest `seq` received so far (what a client would send as `last_seq`). */
  get lastSeq(): number {
    return Math.max(0, ...this.received.map((f) => f.seq ?? 0));
  }
}

/** One signal node's rooms on the shared in-memory broker hub and directory. */
export class Node {
  readonly broker: MemoryBroker;
  readonly metrics: SignalMetrics;
  readonly rooms: Rooms;
  readonly link: NodeLink;

  constructor(readonly id: string, readonly cluster: Cluster) {
    this.broker = new MemoryBroker({ nodeId: id, prefix: 't', hub: cluster.hub });
    this.metrics = new SignalMetrics({ sockets: () => 0, callsByStatus: () => ({}) }, false);
    // With a call cache, as signal/main.ts composes it: transitions write it, joins read it.
    const cached = cluster.cache ? new CachedCallStore(cluster.store, cluster.cache) : undefined;
    this.rooms = new Rooms({
      nodeId: id, prefix: 't', store: cached ?? cluster.store, ...(cached ? { lookup: cached } : {}), directory: cluster.directory, broker: this.broker,
      events: cluster.events, metrics: this.metrics, settings: cluster.settings, log, funding: cluster.funding,
    });
    this.link = new NodeLink({ broker: this.broker, nodeId: id, rooms: this.rooms, nodeTtlMs: 1_000, log });
  }

  /** A socket of `peer` of `call` on this node (not joined yet). */
  connect(call: Call, peer: 'host' | 'guest'): Client {
    const t = Math.floor(Date.now() / 1000);
    const claims: SignalingClaims = {
      sub: peer === 'host' ? call.host_id : call.guest_id, role: peer === 'host' ? 'host' : 'guest', call_id: call.id, peer,
      iat: t, exp: t + 300, iss: 'test', jti: newId(), aud: 'signal',
    };
    return new Client(this, claims);
  }

  /** One sweep as the node's timer runs it, with the cluster's live nodes. */
  sweep(): Promise<void> {
    return this.rooms.sweep(async () => [...this.cluster.alive]);
  }
}

/** The calls' funding records as the API's billing worker would write them (`set`), read by the nodes. */
export class MemoryFunding implements FundingSource {
  readonly records = new Map<string, CallFunding>();
  /** Reads made, per call. */
  readonly reads = new Map<string, number>();
  /** Set to make every read fail (storage down). */
  failing = false;

  async get(callId: string): Promise<CallFunding | null> {
    this.reads.set(callId, (this.reads.get(callId) ?? 0) + 1);
    if (this.failing) throw new Error('funding storage down');
    return this.records.get(callId) ?? null;
  }

  set(callId: string, record: Omit<CallFunding, 'callId' | 'updatedAt'>): void {
    this.records.set(callId, { callId, updatedAt: new Date(), ...record });
  }
}

/** Several nodes on one in-memory hub, directory and call store, and the events they emit. */
export class Cluster {
  readonly hub = new MemoryHub();
  readonly store = new MemoryCallStore();
  readonly directory: MemoryDirectory;
  readonly events = new CallEvents(log);
  readonly funding = new MemoryFunding();
  readonly alive = new Set<string>();
  readonly emitted: { [K in keyof CallEventMap]: Array<CallEventMap[K]> } = { 'call-state': [], tick: [], 'peer-state': [], 'media-up': [] };

  /** The call cache the nodes read at join, when the cluster has one (`withCallCache`). */
  readonly cache: MemoryCallCache | undefined;
  /** The API's view of the calls: creations and transitions written to the cache too, when there is one. */
  readonly api: CachedCallStore | MemoryCallStore;

  constructor(readonly settings: RoomSettings = SETTINGS, options: { withCallCache?: boolean } = {}) {
    this.directory = new MemoryDirectory(settings.replayBuffer);
    this.cache = options.withCallCache ? new MemoryCallCache() : undefined;
    this.api = this.cache ? new CachedCallStore(this.store, this.cache) : this.store;
    for (const name of ['call-state', 'tick', 'peer-state', 'media-up'] as const) this.events.on(name, (e) => (this.emitted[name] as unknown[]).push(e));
  }

  /** Starts a node (subscribed to its channel and the calls channel). */
  async node(id: string): Promise<Node> {
    const node = new Node(id, this);
    await node.link.start();
    this.alive.add(id);
    return node;
  }

  /** Stores a new call in `status` (with `overrides`), as the API creates it. */
  async call(status: CallStatus = 'waiting', overrides: Partial<Call> = {}): Promise<Call> {
    const at = new Date();
    return this.api.create({
      id: newId(), link_id: newId(), short_code: 'abcdefghij', host_id: newId(), guest_id: 'gs_guest', guest_role: 'guest',
      status, end_reason: null, rate: { amount: 100, currency: 'USD' }, max_duration_sec: null,
      created_at: at, ringing_at: null, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: at, version: 0, ...overrides,
    });
  }
}

/** The timers every rooms test fakes. */
export const FAKE_TIMERS = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

/** Fakes the timers (`vi.useRealTimers()` undoes it) and starts a cluster of two nodes, `n1` and `n2`. */
export async function twoNodesOnFakeTime(settings: RoomSettings = SETTINGS): Promise<{ cluster: Cluster; n1: Node; n2: Node }> {
  vi.useFakeTimers({ toFake: [...FAKE_TIMERS] });
  const cluster = new Cluster(settings);
  return { cluster, n1: await cluster.node('n1'), n2: await cluster.node('n2') };
}
