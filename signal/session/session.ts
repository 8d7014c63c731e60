import type { SignalingClaims } from '../../shared/tokens/index.js';
import type { WheelEntry } from '../deadline-wheel.js';
import { TokenBucket } from './token-bucket.js';

/** The socket operations a session needs (implemented over a uWS socket by the route). */
export interface SessionIo {
  /** Sends one text frame; false when the socket is closed or over its buffer limit (then it is being closed). */
  send(text: string): boolean;
  /** Closes with `code` (idempotent). */
  close(code: number, reason: string): void;
}

/** Where a session is in its life. */
export type SessionPhase = 'open' | 'joining' | 'joined' | 'closed';

/**
 * Per-socket state: identity (from the token), limits (token bucket, violation counters),
 * deadlines, and — once joined — the peer's live sequence counter and recent frames.
 * Plain data; the route and the room service act on it.
 */
export class Session implements WheelEntry {
  phase: SessionPhase = 'open';
  wheelSlot = -1;
  claims: SignalingClaims;
  readonly bucket: TokenBucket;
  violations = 0;
  rateStrikes = 0;
  // The times are declared with a number so that V8 keeps them as double fields written in
  // place. A field declared without a value starts as undefined and becomes a tagged field,
  // and then every store of a time allocates a heap number that lives until the socket's next
  // frame, which means seconds: long enough to be promoted, then collected by a full GC.
  lastSeen = 0;
  readonly openedAt: number = 0;
  /** Token expiry (ms since the epoch); set by each `reauth` token, even to an earlier time. */
  expiresAt = 0;
  reauthAsked = false;
  /** True once a newer socket of the same peer took over; its close changes nothing. */
  replaced = false;
  /** Last sequence number sent to this peer. */
  seq = 0;
  /**
   * Sequenced frames not yet written to the replay buffer in the directory (the write-behind
   * takes them every sweep; while Redis is down they stay, bounded, and serve a resume here).
   */
  pending: string[] | undefined;
  /** Frames the write-behind has taken and not yet seen written (they may or may not be in Redis). */
  writing: string[] | undefined;
  /**
   * Set by a `join` that replaced a socket on another node: the frames that node sends back (`r`)
   * are delivered if above the join's `last_seq`, in the old numbering (up to `upTo`, where this
   * socket's starts) and not in its replay. Cleared when they arrive.
   */
  handover: { after: number; upTo: number; replayed: Set<number> } | undefined;
  /**
   * Frame bodies that arrived while joining, or while a join that replaced a socket on another
   * node waits for its handed-back frames (`holdTimer` set); sent, sequenced, after them.
   */
  queued: Array<{ body: string; t0: number }> | undefined;
  /** Ends the wait for handed-back frames if they never come. */
  holdTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly io: SessionIo,
    readonly conn: string,
    claims: SignalingClaims,
    limits: { ratePerSec: number; rateBurst: number },
    now: number,
  ) {
    this.claims = claims;
    this.bucket = new TokenBucket(limits.ratePerSec, limits.rateBurst, now);
    this.lastSeen = now;
    this.openedAt = now;
    this.expiresAt = claims.exp * 1000;
  }

  /** True once the socket has closed (late async work checks this). */
  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  get callId(): string {
    return this.claims.call_id;
  }

  get peer(): string {
    return this.claims.peer;
  }

  get user(): string {
    return this.claims.sub;
  }

  /**
   * Remembers a sequenced frame for the write-behind (bounded by `limit`). Frames are kept only
   * until they are persisted: a copy per socket for its whole life would make every frame
   * survive into the old generation, and the garbage collector's copying of it stalls relaying.
   */
  remember(frame: string, limit: number): void {
    const pending = (this.pending ??= []);
    pending.push(frame);
    if (pending.length > limit * 2) pending.splice(0, pending.length - limit);
  }

  /** Takes the frames awaiting write-behind. */
  takePending(): string[] {
    const frames = this.pending ?? [];
    this.pending = undefined;
    return frames;
  }

  /**
   * Takes every frame not known to be in the replay buffer, in seq order: those of an unfinished
   * write, then those awaiting one (for a socket that is closing or being replaced).
   */
  takeUnwritten(): string[] {
    const frames = this.writing ? [...this.writing, ...this.takePending()] : this.takePending();
    this.writing = undefined;
    return frames;
  }
}
