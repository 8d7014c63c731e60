import type { WebSocket } from 'uWebSockets.js';

/** What the server keeps on every socket: identity from the token plus the route's own state. */
export interface SocketData<Identity = unknown> {
  /** Connection id (for logs). */
  conn: string;
  route: string;
  ip: string;
  identity: Identity;
  /** Set once the socket has closed, so late async work can tell. */
  closed: boolean;
  /** The route's per-connection state (e.g. the signaling Session). */
  session?: unknown;
}

export type Socket<Identity = unknown> = WebSocket<SocketData<Identity>>;

/**
 * One WebSocket route's behaviour. `authenticate` runs synchronously inside the HTTP upgrade
 * handler: a throw answers HTTP 401 and no socket is opened. It must not await: this uWS build
 * closes some sockets upgraded later from `res.cork` (docs/signal-internals.md, "Why the upgrade is
 * synchronous").
 */
export interface WsRouteHandler<Identity = unknown> {
  authenticate(token: string): Identity;
  open(ws: Socket<Identity>): void;
  message(ws: Socket<Identity>, data: ArrayBuffer, isBinary: boolean): void;
  drain?(ws: Socket<Identity>): void;
  close(ws: Socket<Identity>, code: number, reason: string): void;
}

export interface WsRouteLimits {
  maxPayloadLength: number;
  idleTimeoutSec: number;
  maxBackpressure: number;
}
