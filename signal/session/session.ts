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
 * Per-socket connection state: identity (from the token), limits (token bucket, violation
 * counters) and deadlines. Plain data; the route acts on it. What a room keeps per socket
 * (sequence numbers, frames awaiting write-behind, handover holds) is on its `Participant`.
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
}
