import type { Config } from '../../config/index.js';
import type { Logger } from '../../shared/runtime/logger.js';
import { AppError, type ErrorCode } from '../../shared/errors/index.js';
import { PEERS } from '../../shared/calls/index.js';
import {
  CLOSE_CODES, ackFrame, closeCodeName, encodeFrame, errorFrame, frameId, parseClientFrame,
  type ClientMessage, type MediaState, type RelayType,
} from '../../shared/protocol/index.js';
import type { SignalingClaims, SyncTokenVerifier } from '../../shared/tokens/index.js';
import type { CallRooms } from '../calls/rooms.js';
import type { Presence } from '../calls/presence.js';
import { preciseNow } from '../clock.js';
import { DeadlineWheel } from '../deadline-wheel.js';
import type { SignalMetrics } from '../metrics.js';
import { UWS_SEND } from '../server/uws.js';
import type { Socket, WsRouteHandler } from '../server/ws-route.js';
import { Session, type SessionIo } from './session.js';

/** Per-socket limits of the signaling route (a slice of `config.signal`). */
export type SessionLimits = Pick<Config['signal'],
  'maxFrameBytes' | 'ratePerSec' | 'rateBurst' | 'maxSocketsPerUser' | 'joinTimeoutMs' | 'idleTimeoutMs'
  | 'maxBufferedBytes' | 'maxViolations' | 'reauthLeadMs' | 'reauthGraceMs' | 'timerMs'>;

const utf8 = new TextDecoder();

/**
 * The `/signal/ws` route: authenticates the signaling token at upgrade, then runs one Session
 * per socket — size, rate and violation limits, the join/idle/reauth deadlines, and the
 * type→handler table that hands calls work to the rooms (`CallRooms`).
 */
export class SignalRoute implements WsRouteHandler<SignalingClaims> {
  readonly #sessions = new Set<Session>();
  readonly #timer: NodeJS.Timeout;
  /** Each open session under its next join/idle/reauth deadline: a timer tick looks only at those due. */
  readonly #deadlines: DeadlineWheel<Session>;
  readonly #handlers: { [K in ClientMessage['type']]: (s: Session, m: Extract<ClientMessage, { type: K }>, t0: number) => void | Promise<void> };

  constructor(private readonly deps: {
    verifier: Pick<SyncTokenVerifier, 'verifySignaling'>;
    rooms: CallRooms;
    presence: Presence;
    metrics: SignalMetrics;
    limits: SessionLimits;
    log: Logger;
  }) {
    const relay = (s: Session, m: ClientMessage, t0: number) => this.#relay(s, m.type as RelayType, m.data as Record<string, unknown>, m.id, t0);
    this.#handlers = {
      join: (s, m) => deps.rooms.join(s, m.data.last_seq, m.id),
      ping: (s, m) => this.#send(s, encodeFrame({ type: 'pong', ...(m.id ? { id: m.id } : {}), data: { ...(m.data.ts !== undefined ? { ts: m.data.ts } : {}), server_ts: Date.now() } }), 'pong'),
      reauth: (s, m) => this.#reauth(s, m.data.token, m.id),
      hangup: (s, m) => this.#hangup(s, m.id),
      'media-state': (s, m) => this.#mediaState(s, m.data.state, m.id),
      offer: relay, answer: relay, 'ice-candidate': relay, 'ice-restart': relay, renegotiate: relay, 'mute-state': relay,
    };
    this.#deadlines = new DeadlineWheel(deps.limits.timerMs, Date.now());
    this.#timer = setInterval(() => this.#checkDeadlines(), deps.limits.timerMs);
    this.#timer.unref();
  }

  /** Open sockets on this route. */
  get size(): number {
    return this.#sessions.size;
  }

  authenticate(token: string): SignalingClaims {
    return this.deps.verifier.verifySignaling(token);
  }

  open(ws: Socket<SignalingClaims>): void {
    const data = ws.getUserData();
    const { limits, presence, metrics, log } = this.deps;
    const io: SessionIo = {
      send: (text) => {
        if (data.closed) return false;
        let result: number;
        try {
          result = ws.send(text, false);
        } catch {
          return false;
        }
        if (result === UWS_SEND.DROPPED || ws.getBufferedAmount() > limits.maxBufferedBytes) {
          metrics.backpressureDrops.inc();
          log.warn({ conn: data.conn, call: data.identity.call_id, peer: data.identity.peer }, 'slow consumer dropped');
          io.close(CLOSE_CODES.BACKPRESSURE, 'send buffer limit exceeded');
          return false;
        }
        return true;
      },
      close: (code, reason) => {
        if (data.closed) return;
        try {
          ws.end(code, reason);
        } catch {
          // already closing
        }
      },
    };
    const session = new Session(io, data.conn, data.identity, limits, Date.now());
    data.session = session;
    if (presence.count(session.user) >= limits.maxSocketsPerUser) {
      session.phase = 'closed';
      this.#send(session, errorFrame('rate_limited', `At most ${limits.maxSocketsPerUser} sockets per user.`), 'error');
      io.close(CLOSE_CODES.TOO_MANY_SOCKETS, 'too many sockets');
      return;
    }
    presence.add(session.user);
    this.#sessions.add(session);
    this.#deadlines.schedule(session, this.#nextDeadline(session));
    log.debug({ conn: session.conn, call: session.callId, peer: session.peer }, 'socket open');
  }

  message(ws: Socket<SignalingClaims>, raw: ArrayBuffer, isBinary: boolean): void {
    const session = ws.getUserData().session as Session | undefined;
    if (!session || session.phase === 'closed') return;
    const t0 = preciseNow();
    const t = Date.now();
    const { limits } = this.deps;
    session.lastSeen = t;
    if (raw.byteLength > limits.maxFrameBytes) {
      this.#send(session, errorFrame('payload_too_large', `Frames are limited to ${limits.maxFrameBytes} bytes.`), 'error');
      session.io.close(CLOSE_CODES.FRAME_TOO_LARGE, 'frame too large');
      return;
    }
    if (!session.bucket.take(t)) {
      session.rateStrikes += 1;
      // Parsed only for its id: at most SIGNAL_MAX_VIOLATIONS times per socket before 4501.
      const id = isBinary ? undefined : frameId(utf8.decode(raw));
      this.#send(session, errorFrame('rate_limited', `At most ${limits.ratePerSec} frames per second.`, id), 'error');
      if (session.rateStrikes >= limits.maxViolations) session.io.close(CLOSE_CODES.RATE_LIMITED, 'rate limit exceeded');
      return;
    }
    if (isBinary) return this.#violation(session, 'Frames must be JSON text.');
    const parsed = parseClientFrame(utf8.decode(raw));
    if (!parsed.ok) return this.#violation(session, parsed.message, parsed.id, parsed.details);
    const message = parsed.message;
    this.deps.metrics.framesIn.add(message.type);
    const handler = this.#handlers[message.type] as (s: Session, m: ClientMessage, t0: number) => void | Promise<void>;
    try {
      const result = handler(session, message, t0);
      if (result instanceof Promise) result.catch((err: unknown) => this.#failed(session, err, message.id));
    } catch (err) {
      this.#failed(session, err, message.id);
    }
  }

  close(ws: Socket<SignalingClaims>, code: number): void {
    const session = ws.getUserData().session as Session | undefined;
    this.deps.metrics.closes.inc({ code: closeCodeName(code) });
    if (!session) return;
    const counted = this.#sessions.delete(session);
    this.#deadlines.cancel(session);
    if (counted) this.deps.presence.remove(session.user);
    this.deps.log.info({ conn: session.conn, call: session.callId, peer: session.peer, code }, 'socket closed');
    this.deps.rooms.socketClosed(session);
  }

  /** Sends `reconnect` to every socket, then closes it with SERVER_SHUTDOWN (the peers resume elsewhere). */
  drain(): void {
    const frame = encodeFrame({ type: 'reconnect', data: { reason: 'drain', retry_after_ms: 0 } });
    for (const session of [...this.#sessions]) {
      this.#send(session, frame, 'reconnect');
      session.io.close(CLOSE_CODES.SERVER_SHUTDOWN, 'node draining; reconnect elsewhere');
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Relays a peer-to-peer frame; synchronous (no promise) when the other peer is on this node. */
  #relay(session: Session, type: RelayType, data: Record<string, unknown>, id: string | undefined, t0: number): void | Promise<void> {
    if (session.phase !== 'joined') return this.#violation(session, 'Join the call first.', id, undefined, 'forbidden');
    const to = data['to'];
    if (to !== undefined && (to === session.peer || !(PEERS as readonly string[]).includes(to as string))) {
      return this.#violation(session, 'No such peer in this call.', id, { 'data.to': 'must name the other peer' });
    }
    const reached = this.deps.rooms.relay(session, type, data, t0);
    if (typeof reached === 'number') return this.#relayed(session, id, reached);
    return reached.then((n) => this.#relayed(session, id, n));
  }

  #relayed(session: Session, id: string | undefined, reached: number): void {
    if (!id) return;
    if (reached > 0) this.#send(session, ackFrame(id, { delivered: reached }), 'ack');
    else this.#send(session, errorFrame('not_found', 'The other peer is not in the call (or unreachable right now).', id), 'error');
  }

  #mediaState(session: Session, state: MediaState, id: string | undefined): void {
    if (session.phase !== 'joined') return this.#violation(session, 'Join the call first.', id, undefined, 'forbidden');
    this.deps.rooms.mediaState(session, state, id);
  }

  async #hangup(session: Session, id: string | undefined): Promise<void> {
    if (session.phase !== 'joined') return this.#violation(session, 'Join the call first.', id, undefined, 'forbidden');
    await this.deps.rooms.hangup(session, id);
  }

  #reauth(session: Session, token: string, id: string | undefined): void {
    let claims: SignalingClaims;
    try {
      claims = this.deps.verifier.verifySignaling(token);
    } catch (err) {
      const message = err instanceof AppError ? err.message : 'Invalid token.';
      return this.#violation(session, message, id, undefined, 'unauthorized');
    }
    if (claims.call_id !== session.callId || claims.peer !== session.peer || claims.sub !== session.user) {
      return this.#violation(session, 'The token is for another call or participant.', id, undefined, 'forbidden');
    }
    session.claims = claims;
    session.expiresAt = claims.exp * 1000;
    session.reauthAsked = false;
    this.#deadlines.scheduleNoLaterThan(session, this.#nextDeadline(session));
    this.#send(session, ackFrame(id, { expires_at: session.expiresAt, ice_servers: this.deps.rooms.iceServersFor(session) }), 'ack');
  }

  #violation(session: Session, message: string, id?: string, details?: Record<string, string>, code: ErrorCode = 'validation_error'): void {
    session.violations += 1;
    this.#send(session, errorFrame(code, message, id, details), 'error');
    if (session.violations >= this.deps.limits.maxViolations) session.io.close(CLOSE_CODES.POLICY_VIOLATION, 'too many protocol violations');
  }

  #failed(session: Session, err: unknown, id: string | undefined): void {
    this.deps.log.error({ err, conn: session.conn, call: session.callId }, 'frame handler failed');
    this.#send(session, errorFrame('internal_error', 'Unexpected server error.', id), 'error');
  }

  #send(session: Session, text: string, type: string): void {
    if (session.io.send(text)) this.deps.metrics.framesOut.add(type);
  }

  /** Acts on the sessions whose next deadline has come (the others are not looked at). */
  #checkDeadlines(): void {
    const t = Date.now();
    for (const session of this.#deadlines.takeDue(t)) {
      if (session.phase === 'closed' || !this.#sessions.has(session)) continue;
      if (!this.#enforceDeadlines(session, t)) this.#deadlines.schedule(session, this.#nextDeadline(session));
    }
  }

  /**
   * The earliest time (ms) at which `#enforceDeadlines` may act on `session`, as of now. Frames
   * only push the idle deadline later, so a session filed under an older one is re-filed when
   * that comes, not on every frame.
   */
  #nextDeadline(session: Session): number {
    const { joinTimeoutMs, idleTimeoutMs, reauthLeadMs, reauthGraceMs } = this.deps.limits;
    let at = Math.min(session.lastSeen + idleTimeoutMs, session.expiresAt + reauthGraceMs) + 1;
    // 'joining' too: a join that fails on storage puts the session back to 'open'.
    if (session.phase === 'open' || session.phase === 'joining') at = Math.min(at, session.openedAt + joinTimeoutMs + 1);
    if (!session.reauthAsked) at = Math.min(at, session.expiresAt - reauthLeadMs);
    return at;
  }

  /** Closes a session past its join, idle or token deadline, or asks it to reauthenticate; true when it was closed. */
  #enforceDeadlines(session: Session, t: number): boolean {
    const { joinTimeoutMs, idleTimeoutMs, reauthLeadMs, reauthGraceMs } = this.deps.limits;
    if (session.phase === 'open' && t - session.openedAt > joinTimeoutMs) {
      this.#send(session, errorFrame('forbidden', `No join within ${joinTimeoutMs} ms.`), 'error');
      session.io.close(CLOSE_CODES.JOIN_TIMEOUT, 'join timeout');
      return true;
    }
    if (t - session.lastSeen > idleTimeoutMs) {
      this.#send(session, errorFrame('gone', `No frame for ${idleTimeoutMs} ms.`), 'error');
      session.io.close(CLOSE_CODES.IDLE_TIMEOUT, 'idle timeout');
      return true;
    }
    if (t > session.expiresAt + reauthGraceMs) {
      this.#send(session, errorFrame('unauthorized', 'Token expired; reconnect with a fresh token.'), 'error');
      session.io.close(CLOSE_CODES.TOKEN_EXPIRED, 'token expired');
      return true;
    }
    if (!session.reauthAsked && t >= session.expiresAt - reauthLeadMs) {
      session.reauthAsked = true;
      this.#send(session, encodeFrame({ type: 'reauth-required', data: { expires_at: session.expiresAt, deadline: session.expiresAt + reauthGraceMs } }), 'reauth-required');
    }
    return false;
  }
}
