import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { ChatCore } from '../../shared/chat/chat-core.js';
import type { ChatEvent } from '../../shared/chat/events.js';
import { chatFrameParser, type ChatClientMessage, type ChatResume, type ChatSend, type ParsedChatFrame } from '../../shared/chat/protocol.js';
import { counterpartOf, userChannelName } from '../../shared/chat/types.js';
import { AppError, type ErrorCode } from '../../shared/errors/index.js';
import { CLOSE_CODES } from '../../shared/protocol/close-codes.js';
import type { AccessClaims, SyncTokenVerifier } from '../../shared/tokens/index.js';
import type { Broker, Subscription } from '../broker/broker.js';
import type { Socket, WsRouteHandler } from '../server/ws-route.js';
import { ChatSession } from './chat-session.js';
import { CounterpartPresence, type ChatPresence } from './counterpart-presence.js';
import { Sequencer } from './sequencer.js';
import { LocalUserRate, type UserRate } from './user-rate.js';

/** Limits of the chat route: the signaling ones plus the chat settings. */
export type ChatRouteLimits = Pick<Config['signal'], 'maxFrameBytes' | 'ratePerSec' | 'rateBurst' | 'maxSocketsPerUser' | 'maxBufferedBytes' | 'maxViolations' | 'reauthLeadMs' | 'reauthGraceMs' | 'timerMs'>
  & Pick<Config['chat'], 'recoveryMax' | 'typingIntervalMs' | 'maxTextChars' | 'userRatePerSec' | 'userRateBurst'>;


/** Events held for a socket that has not sent `resume` yet; past this it is closed with BACKPRESSURE. */
const MAX_EARLY_EVENTS = 10_000;
const utf8 = new TextDecoder();

function errorFrame(code: ErrorCode, message: string, id?: string, details?: Record<string, string>): string {
  return JSON.stringify({ type: 'error', ...(id ? { id } : {}), data: { code, message, ...(details ? { details } : {}) } });
}

/** A user's sockets on this node and their channel subscription. */
interface UserEntry { sessions: Set<ChatSession>; subscription: Promise<Subscription | undefined> }

/**
 * `/v1/chat/ws`: access token at upgrade; per socket the signaling limits (frame size, rate,
 * sockets per user, violations, send buffer) and re-authentication; per user one broker
 * subscription on `<prefix>:ch:user:<id>` shared by the node's sockets of that user; messages
 * reach each socket once and in seq order (Sequencer), with `resume` replaying what was missed.
 */
export class ChatRoute implements WsRouteHandler<AccessClaims> {
  readonly #users = new Map<string, UserEntry>();
  readonly #sessions = new Set<ChatSession>();
  readonly #timer: NodeJS.Timeout;
  readonly #parse: (text: string) => ParsedChatFrame;
  readonly #sequencer: Sequencer;
  readonly #counterparts: CounterpartPresence | undefined;
  readonly #userRate: UserRate;

  constructor(private readonly deps: {
    verifier: Pick<SyncTokenVerifier, 'verifyAccess'>;
    core: ChatCore;
    broker: Broker;
    prefix: string;
    limits: ChatRouteLimits;
    log: Logger;
    presence?: ChatPresence;
    /** The per-user frame budget; default: per node (`LocalUserRate`). */
    userRate?: UserRate;
  }) {
    this.#userRate = deps.userRate ?? new LocalUserRate(deps.limits.userRatePerSec, deps.limits.userRateBurst);
    this.#parse = chatFrameParser(deps.limits.maxTextChars);
    this.#sequencer = new Sequencer({ messages: deps.core.messages, conversations: deps.core.conversations, recoveryMax: deps.limits.recoveryMax, send: (s, frame) => this.#send(s, frame), log: deps.log });
    this.#counterparts = deps.presence ? new CounterpartPresence({ presence: deps.presence, core: deps.core, log: deps.log }) : undefined;
    this.#timer = setInterval(() => this.#checkTokens(), deps.limits.timerMs);
    this.#timer.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  authenticate(token: string): AccessClaims {
    return this.deps.verifier.verifyAccess(token);
  }

  open(ws: Socket<AccessClaims>): void {
    const data = ws.getUserData();
    const { limits, log } = this.deps;
    const session = new ChatSession({
      send: (text) => {
        if (data.closed) return false;
        let result: number;
        try {
          result = ws.send(text, false);
        } catch {
          return false;
        }
        if (result === 2 || ws.getBufferedAmount() > limits.maxBufferedBytes) {
          log.warn({ conn: data.conn, user: session.user }, 'slow chat consumer dropped');
          session.io.close(CLOSE_CODES.BACKPRESSURE, 'send buffer limit exceeded');
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
    }, data.conn, data.identity, limits, Date.now());
    data.session = session;
    const entry = this.#users.get(session.user);
    if (entry && entry.sessions.size >= limits.maxSocketsPerUser) {
      session.closed = true;
      session.io.send(errorFrame('rate_limited', `At most ${limits.maxSocketsPerUser} chat sockets per user on a node.`));
      session.io.close(CLOSE_CODES.TOO_MANY_SOCKETS, 'too many sockets');
      return;
    }
    this.#sessions.add(session);
    this.#join(session);
    this.deps.presence?.add(session.user, 'chat');
    this.#send(session, JSON.stringify({ type: 'ready', data: { user_id: session.user, expires_at: session.expiresAt } }));
  }

  message(ws: Socket<AccessClaims>, raw: ArrayBuffer, isBinary: boolean): void {
    const session = ws.getUserData().session as ChatSession | undefined;
    if (!session || session.closed) return;
    const { limits } = this.deps;
    if (raw.byteLength > limits.maxFrameBytes) {
      this.#send(session, errorFrame('payload_too_large', `Frames are limited to ${limits.maxFrameBytes} bytes.`));
      return session.io.close(CLOSE_CODES.FRAME_TOO_LARGE, 'frame too large');
    }
    const now = Date.now();
    if (!session.bucket.take(now)) return this.#rateLimited(session, `At most ${limits.ratePerSec} frames per second per socket.`, 'socket');
    // uWS owns `raw` only during this call: decode it before any wait.
    const text = isBinary ? undefined : utf8.decode(raw);
    const allowed = this.#userRate.take(session.user, now);
    if (typeof allowed === 'boolean' && session.gated === 0) return this.#admit(session, allowed, text);
    session.gated += 1;
    session.gate = session.gate.then(() => allowed).then(
      (ok) => { session.gated -= 1; if (!session.closed) this.#admit(session, ok, text); },
      () => { session.gated -= 1; },
    );
  }

  /** A frame within the socket's budget: refused when over the user's, else parsed and handled. */
  #admit(session: ChatSession, withinUserBudget: boolean, text: string | undefined): void {
    if (!withinUserBudget) return this.#rateLimited(session, `At most ${this.deps.limits.userRatePerSec} frames per second per user.`, 'user');
    if (text === undefined) return this.#violation(session, 'Frames must be JSON text.');
    const parsed = this.#parse(text);
    if (!parsed.ok) return this.#violation(session, parsed.message, parsed.id, parsed.details);
    this.#handle(session, parsed.message).catch((err: unknown) => this.#failed(session, err, parsed.message.id));
  }

  close(ws: Socket<AccessClaims>): void {
    const session = ws.getUserData().session as ChatSession | undefined;
    if (!session) return;
    session.closed = true;
    if (!this.#sessions.delete(session)) return;
    this.deps.presence?.remove(session.user, 'chat');
    const entry = this.#users.get(session.user);
    if (!entry) return;
    entry.sessions.delete(session);
    if (entry.sessions.size === 0) {
      this.#users.delete(session.user);
      this.#userRate.forget(session.user);
      void entry.subscription.then((s) => s?.unsubscribe());
    }
  }

  /** Hands an event to this node's sockets of `userIds` (the in-process API of an `all` process). */
  deliver(userIds: readonly string[], event: ChatEvent): void {
    for (const id of userIds) this.#onEvent(id, event);
  }

  /** The node's presence saw `userId` come online here, or go offline here (see CounterpartPresence.changed). */
  presenceChanged(userId: string, online: boolean): Promise<void> {
    return this.#counterparts?.changed(userId, online) ?? Promise.resolve();
  }

  /** Sends `reconnect` and closes every socket with SERVER_SHUTDOWN. */
  drain(): void {
    const frame = JSON.stringify({ type: 'reconnect', data: { reason: 'drain', retry_after_ms: 0 } });
    for (const session of [...this.#sessions]) {
      this.#send(session, frame);
      session.io.close(CLOSE_CODES.SERVER_SHUTDOWN, 'node draining; reconnect elsewhere');
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #join(session: ChatSession): void {
    const existing = this.#users.get(session.user);
    if (existing) {
      existing.sessions.add(session);
      return;
    }
    const channel = userChannelName(this.deps.prefix, session.user);
    const entry: UserEntry = {
      sessions: new Set([session]),
      subscription: this.deps.broker.subscribe(channel, (m) => this.#onEvent(session.user, JSON.parse(m.payload) as ChatEvent)).then(
        (sub) => {
          if (this.#users.get(session.user) !== entry) void sub.unsubscribe();
          return sub;
        },
        (err: unknown) => {
          this.deps.log.warn({ err, user: session.user }, 'chat channel not subscribed');
          return undefined;
        },
      ),
    };
    this.#users.set(session.user, entry);
  }

  #onEvent(userId: string, event: ChatEvent): void {
    const entry = this.#users.get(userId);
    if (!entry) return;
    for (const session of entry.sessions) {
      if (session.closed) continue;
      if (!session.resumed) {
        session.early.push(event);
        if (session.early.length > MAX_EARLY_EVENTS) session.io.close(CLOSE_CODES.BACKPRESSURE, 'no resume; too many events waiting');
        continue;
      }
      this.#apply(session, event);
    }
  }

  #apply(session: ChatSession, event: ChatEvent): void {
    switch (event.t) {
      case 'message':
        this.#sequencer.offer(session, event.message);
        return;
      case 'read':
        this.#send(session, JSON.stringify({ type: 'read', data: { conversation_id: event.conversation_id, user_id: event.user_id, seq: event.seq } }));
        return;
      case 'typing':
        if (event.user_id !== session.user) this.#send(session, JSON.stringify({ type: 'typing', data: { conversation_id: event.conversation_id, user_id: event.user_id } }));
        return;
      case 'conversation':
        this.#send(session, JSON.stringify({ type: 'conversation', data: { conversation_id: event.conversation_id, change: event.change, user_id: event.user_id } }));
        return;
      case 'presence':
        this.#send(session, JSON.stringify({ type: 'presence', data: { users: { [event.user_id]: event.online } } }));
    }
  }

  async #handle(session: ChatSession, message: ChatClientMessage): Promise<void> {
    switch (message.type) {
      case 'ping':
        this.#send(session, JSON.stringify({ type: 'pong', ...(message.id ? { id: message.id } : {}), data: { ...(message.data.ts !== undefined ? { ts: message.data.ts } : {}), server_ts: Date.now() } }));
        return;
      case 'resume':
        return this.#resume(session, message);
      case 'send':
        return this.#sendMessage(session, message);
      case 'typing': {
        const now = Date.now();
        const conversationId = message.data.conversation_id;
        if (now - (session.typingAt.get(conversationId) ?? 0) < this.deps.limits.typingIntervalMs) return;
        session.typingAt.set(conversationId, now);
        const conversation = await this.deps.core.memberOf(conversationId, session.user);
        await this.deps.core.notifier.notify([counterpartOf(conversation, session.user)], { t: 'typing', conversation_id: conversationId, user_id: session.user });
        return;
      }
      case 'read': {
        const seq = await this.deps.core.markRead(message.data.conversation_id, session.user, message.data.seq);
        if (message.id) this.#send(session, JSON.stringify({ type: 'ack', id: message.id, data: { read_seq: seq } }));
        return;
      }
      case 'reauth':
        return this.#reauth(session, message.data.token, message.id);
    }
  }

  async #resume(session: ChatSession, message: ChatResume): Promise<void> {
    // The user's channel must be live first, or a message stored between the catch-up read and the subscription would be missed.
    await this.#users.get(session.user)?.subscription;
    const positions = await this.#sequencer.resume(session, message.data.conversations);
    const presence = await this.#counterparts?.snapshot(session.user);
    // Presence changes held before the first resume go out after the snapshot, in order, so the client ends on the latest state.
    const held: ChatEvent[] = [];
    if (!session.resumed) {
      session.resumed = true;
      for (const event of session.early.splice(0)) {
        if (event.t === 'presence') held.push(event);
        else this.#apply(session, event);
      }
    }
    if (message.id) this.#send(session, JSON.stringify({ type: 'ack', id: message.id, data: { conversations: positions, ...(presence ? { presence } : {}) } }));
    else if (presence) this.#send(session, JSON.stringify({ type: 'presence', data: { users: presence } }));
    for (const event of held) this.#apply(session, event);
  }

  async #sendMessage(session: ChatSession, message: ChatSend): Promise<void> {
    const d = message.data;
    const { message: stored, duplicate } = await this.deps.core.send({
      conversationId: d.conversation_id, senderId: session.user, clientId: d.client_id, at: new Date(),
      ...(d.text !== undefined ? { text: d.text } : {}), ...(d.image_id ? { imageId: d.image_id } : {}),
    });
    this.#send(session, JSON.stringify({ type: 'ack', id: message.id, data: { message: stored, duplicate } }));
  }

  #reauth(session: ChatSession, token: string, id: string | undefined): void {
    let claims: AccessClaims;
    try {
      claims = this.deps.verifier.verifyAccess(token);
    } catch (err) {
      return this.#violation(session, err instanceof AppError ? err.message : 'Invalid token.', id, undefined, 'unauthorized');
    }
    if (claims.sub !== session.user) return this.#violation(session, 'The token is for another user.', id, undefined, 'forbidden');
    session.claims = claims;
    session.expiresAt = claims.exp * 1000;
    session.reauthAsked = false;
    if (id) this.#send(session, JSON.stringify({ type: 'ack', id, data: { expires_at: session.expiresAt } }));
  }

  /** Asks for `reauth` `reauthLeadMs` before expiry; closes with TOKEN_EXPIRED `reauthGraceMs` after it. */
  #checkTokens(): void {
    const { reauthLeadMs, reauthGraceMs } = this.deps.limits;
    const t = Date.now();
    for (const session of this.#sessions) {
      if (t > session.expiresAt + reauthGraceMs) {
        this.#send(session, errorFrame('unauthorized', 'Token expired; reconnect with a fresh token.'));
        session.io.close(CLOSE_CODES.TOKEN_EXPIRED, 'token expired');
      } else if (!session.reauthAsked && t >= session.expiresAt - reauthLeadMs) {
        session.reauthAsked = true;
        this.#send(session, JSON.stringify({ type: 'reauth-required', data: { expires_at: session.expiresAt, deadline: session.expiresAt + reauthGraceMs } }));
      }
    }
  }

  #rateLimited(session: ChatSession, message: string, scope: 'socket' | 'user'): void {
    session.rateStrikes += 1;
    this.#send(session, errorFrame('rate_limited', message, undefined, { scope }));
    if (session.rateStrikes >= this.deps.limits.maxViolations) session.io.close(CLOSE_CODES.RATE_LIMITED, 'rate limit exceeded');
  }

  #violation(session: ChatSession, message: string, id?: string, details?: Record<string, string>, code: ErrorCode = 'validation_error'): void {
    session.violations += 1;
    this.#send(session, errorFrame(code, message, id, details));
    if (session.violations >= this.deps.limits.maxViolations) session.io.close(CLOSE_CODES.POLICY_VIOLATION, 'too many protocol violations');
  }

  /** An AppError goes back as it is; anything else is a storage or driver failure: `service_unavailable`, retry (sends with the same client_id). */
  #failed(session: ChatSession, err: unknown, id: string | undefined): void {
    if (err instanceof AppError && err.code !== 'internal_error') {
      this.#send(session, errorFrame(err.code, err.message, id, err.details as Record<string, string> | undefined));
      return;
    }
    this.deps.log.error({ err, conn: session.conn, user: session.user }, 'chat frame handler failed');
    this.#send(session, errorFrame('service_unavailable', 'Chat storage is unavailable; retry.', id));
  }

  #send(session: ChatSession, text: string): void {
    if (!session.closed) session.io.send(text);
  }
}
