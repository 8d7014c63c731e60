/**
 * Who is in which call, on which node, plus each peer's replay buffer: the state signal nodes
 * share. `signal/main.ts` picks `RedisDirectory` (nodes joined by Redis) or `MemoryDirectory`.
 */

/** A room of a dead node whose connected members the sweep marked reconnecting. */
export interface MarkedRoom {
  callId: string;
  peers: string[];
  node: string;
}

/** One participant's registration in a call. */
export interface MemberRecord {
  node: string;
  conn: string;
  user: string;
  state: 'connected' | 'reconnecting';
  /** ms since the epoch of the last state change. */
  since: number;
}

/** What `join` found: the peer's previous record, the other members, and frames to replay. */
export interface JoinOutcome {
  previous: MemberRecord | null;
  members: Map<string, MemberRecord>;
  /** Highest sequence number stored for this peer. */
  seq: number;
  /** Stored frames with `seq > lastSeq`, oldest first (complete JSON frames). */
  replay: string[];
  /**
   * Frame bodies parked for this peer while no node listened for it (its node had died or lost
   * Redis), oldest first, taken by this join: deliver them as new frames after the replay.
   */
  parked: string[];
}

/** Sequenced frames of one peer awaiting write-behind to its replay buffer. */
export interface PendingFrames {
  callId: string;
  peer: string;
  /** Sequenced frames, oldest first; each is single-line JSON (as `JSON.stringify` writes it). */
  frames: string[];
}

/** `appendOffline` outcome: stored under `seq`, or the peer is connected on `node`, or not a member. */
export type AppendOutcome = { seq: number } | { node: string } | { missing: true };

/** A frame body with its sequence number spliced in as the first member: `{"seq":N,...}`. */
export function withSeq(seq: number, body: string): string {
  return `{"seq":${seq},${body.slice(1)}`;
}

/**
 * Sequence numbers skipped where another node may have numbered frames the directory has not seen
 * (a dead node's peers, a socket replaced from another node): more than a node holds unpersisted.
 */
export const SEQ_GAP = 100_000;

/** The body of a sequenced frame, without its `seq` (the inverse of `withSeq`). */
export function withoutSeq(frame: string): string {
  return `{${frame.slice(frame.indexOf(',') + 1)}`;
}

/** The sequence number of a stored frame (as written by `withSeq`). */
export function seqOf(frame: string): number {
  const end = frame.indexOf(',');
  return Number(frame.slice(7, end));
}

/** One billing tick to claim: minute `minute` of call `callId`. */
export interface TickClaim {
  callId: string;
  minute: number;
}

/**
 * Who is in which call on which node (used by join, grace, handover, lifecycle and the sweeps).
 * `join` and `leave` also move replay frames, atomically with the membership change.
 */
export interface Membership {
  /**
   * Registers `peer` as connected with `member` (replacing any earlier record), cancels its
   * grace period, and returns the room plus the stored frames after `lastSeq`. Atomic.
   */
  join(callId: string, peer: string, member: MemberRecord, lastSeq: number | undefined): Promise<JoinOutcome>;
  /**
   * If `peer` is still registered with `conn`: marks it reconnecting until `graceDeadline`, and
   * stores `frames` (sequenced frames not yet persisted, oldest first) in its replay buffer.
   * Returns false when another socket has replaced `conn` (nothing changes then). Atomic.
   */
  leave(callId: string, peer: string, conn: string, now: number, graceDeadline: number, frames: string[]): Promise<boolean>;
  members(callId: string): Promise<Map<string, MemberRecord>>;
  /** Forgets a call: members, grace entries, node index (not the replay buffers, which expire). */
  clearRoom(callId: string, peers: readonly string[]): Promise<void>;
  /** Drops `callId` from this node's room index (no local member left). */
  forgetLocalRoom(callId: string): Promise<void>;
  /**
   * Nodes that registered members and are not in `alive`; for each, takes up to `limit` of its
   * rooms (each room to one caller) and marks its connected members reconnecting until
   * `graceDeadline`. Hands each marked room to `onMarked` as soon as it is marked, so a failure
   * later in the sweep loses none of them; a room whose marking failed is put back for the next
   * sweep, and the sweep then rejects.
   */
  sweepDeadNodes(alive: readonly string[], now: number, graceDeadline: number, limit: number, onMarked: (marked: MarkedRoom) => void): Promise<void>;
}

/** Each peer's replay buffer and parked frames (used by the relay, the write-behind and handover). */
export interface ReplayStore {
  /** Appends already-sequenced frames of connected peers to their replay buffers (batched write-behind), atomically. */
  record(batch: readonly PendingFrames[]): Promise<void>;
  /** The frames in `peer`'s replay buffer with `seq > afterSeq`, oldest first (it changes nothing). */
  replayAfter(callId: string, peer: string, afterSeq: number): Promise<string[]>;
  /** Stores `body` for a peer that is not connected, assigning the next sequence number. Atomic. */
  appendOffline(callId: string, peer: string, body: string): Promise<AppendOutcome>;
  /**
   * Keeps `body` for a peer registered as connected on a node that no longer listens (a publish
   * reached nobody), without a sequence number: the peer's next `join` takes it, or, once the
   * dead-node sweep marks the peer reconnecting, it moves into the replay buffer after the gap.
   */
  park(callId: string, peer: string, body: string): Promise<void>;
}

/** Grace periods handed out cluster-wide, one claimer at a time (used by the grace sweep). */
export interface GraceLeases {
  /**
   * Grace periods past `now`, each handed to one caller at a time cluster-wide: claiming moves
   * the entry's deadline to `now + leaseMs`, so an entry whose claimer fails (or dies) before
   * `releaseGrace` comes due again. A `join` of the peer removes the entry.
   */
  claimExpiredGrace(now: number, limit: number, leaseMs: number): Promise<Array<{ callId: string; peer: string }>>;
  /** Removes a claimed grace entry once its call is settled. */
  releaseGrace(callId: string, peer: string): Promise<void>;
}

/** Billing-tick claims, exactly one winner per minute cluster-wide (used by the ticks). */
export interface TickLedger {
  /**
   * Claims billing ticks, one round trip for the whole batch: for each `{callId, minute}`, true
   * for exactly one caller cluster-wide. Results are in the order of `ticks`.
   */
  claimTicks(ticks: readonly TickClaim[]): Promise<boolean[]>;
}

/**
 * The state signal nodes share, as one implementation serves it (`MemoryDirectory`,
 * `RedisDirectory`; `signal/main.ts` picks one). Each consumer sees only its port.
 */
export interface RoomDirectory extends Membership, ReplayStore, GraceLeases, TickLedger {}
