import type { ChatEvent } from '../../shared/chat/events.js';
import type { AccessClaims } from '../../shared/tokens/index.js';
import type { ChatMessage } from '../../shared/chat/types.js';
import { TokenBucket } from '../session/token-bucket.js';

/** Where one socket stands in one conversation. */
export interface Cursor {
  /** Highest seq delivered to this socket (every lower one was delivered, or is older than what the client said it had). */
  last: number;
  /** A store read is filling the gap below the buffered messages. */
  loading: boolean;
  /** Messages that arrived ahead of `last + 1`, by seq. */
  pending: Map<number, ChatMessage>;
}

/** What a chat socket's route needs to write to it. */
export interface ChatIo {
  /** Sends one text frame; false when it was not sent (closed, or dropped for backpressure: the socket is then closing). */
  send(text: string): boolean;
  close(code: number, reason: string): void;
}

/** One chat socket: identity, limits' counters, the per-conversation cursors. */
export class ChatSession {
  readonly user: string;
  expiresAt: number;
  reauthAsked = false;
  violations = 0;
  rateStrikes = 0;
  closed = false;
  /** False until the first `resume`: events wait in `early` so none is delivered ahead of the catch-up. */
  resumed = false;
  readonly early: ChatEvent[] = [];
  readonly cursors = new Map<string, Cursor>();
  readonly typingAt = new Map<string, number>();
  readonly bucket: TokenBucket;
  /** Frames waiting for the user's shared budget (Redis); later frames queue behind them, so they are handled in order. */
  gated = 0;
  gate: Promise<void> = Promise.resolve();

  constructor(readonly io: ChatIo, readonly conn: string, public claims: AccessClaims, limits: { ratePerSec: number; rateBurst: number }, now: number) {
    this.user = claims.sub;
    this.expiresAt = claims.exp * 1000;
    this.bucket = new TokenBucket(limits.ratePerSec, limits.rateBurst, now);
  }
}
