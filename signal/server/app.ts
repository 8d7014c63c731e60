import type { HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { AppError } from '../../shared/errors/index.js';
import { newId } from '../../shared/ids.js';
import { CLOSE_CODES } from '../../shared/protocol/close-codes.js';
import { ConnectionGate, type ConnectionShed } from './connection-gate.js';
import { tokenFromUpgrade } from './upgrade-token.js';
import type { Uws } from './uws.js';
import type { SocketData, WsRouteHandler, WsRouteLimits, Socket } from './ws-route.js';

export interface HttpRoute {
  method: 'get' | 'post';
  path: string;
  /** Returns status, content type and body; may be async. */
  handle(): Promise<{ status: number; contentType: string; body: string }> | { status: number; contentType: string; body: string };
}

export interface SignalServerOptions {
  uws: Uws;
  log: Logger;
  host: string;
  port: number;
  routes: Record<string, WsRouteHandler<any>>;
  limits: WsRouteLimits;
  http: HttpRoute[];
  /** Open sockets (all routes together) past which upgrades are refused with 503. */
  maxSockets: number;
  /** Told about every refused upgrade (for metrics). */
  onUpgradeRefused?: (reason: UpgradeRefusal) => void;
  /** Bounds on connections that have not upgraded (see ConnectionGate). */
  pending: { max: number; handshakeTimeoutMs: number };
  /** Told about every connection closed before its first request (for metrics). */
  onConnectionShed?: (reason: ConnectionShed) => void;
}

/** Why an upgrade was refused. */
export type UpgradeRefusal = 'unauthorized' | 'draining' | 'full';

const STATUS_TEXT: Record<number, string> = { 200: '200 OK', 401: '401 Unauthorized', 404: '404 Not Found', 503: '503 Service Unavailable', 500: '500 Internal Server Error' };

function jsonError(code: string, message: string): string {
  return JSON.stringify({ error: { code, message, details: null } });
}

/**
 * The uWebSockets.js server: WebSocket routes with token auth at upgrade time, small HTTP
 * routes (health, metrics), 404 for the rest. Every HTTP answer closes its connection, and a
 * ConnectionGate bounds the connections that have not upgraded. `close()` stops listening and
 * closes every socket with the given code; both are idempotent.
 */
export class SignalServer {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | undefined;
  private readonly sockets = new Set<Socket>();
  private accepting = true;
  private readonly gate: ConnectionGate;
  port = 0;

  constructor(private readonly options: SignalServerOptions) {
    this.app = options.uws.App();
    this.gate = new ConnectionGate({ maxPending: options.pending.max, handshakeTimeoutMs: options.pending.handshakeTimeoutMs, onShed: options.onConnectionShed });
    this.app.filter((res, count) => this.track(res, Number(count)));
    for (const [path, handler] of Object.entries(options.routes)) this.addWsRoute(path, handler);
    for (const route of options.http) this.addHttpRoute(route);
    this.app.any('/*', (res, req) => {
      res.writeStatus(STATUS_TEXT[404]!).writeHeader('Content-Type', 'application/json');
      // A HEAD answer carries no body: one would be read as the start of the next response.
      const body = jsonError('not_found', 'No such route.');
      if (req.getMethod().toLowerCase() === 'head') res.endWithoutBody(Buffer.byteLength(body), true);
      else res.end(body, true);
    });
  }

  /** Connections that have not upgraded (silent, or with a request in flight). */
  get pendingConnections(): number {
    return this.gate.pending;
  }

  get socketCount(): number {
    return this.sockets.size;
  }

  /** True while the node holds `maxSockets` sockets: upgrades are refused and `/ready` says so. */
  get full(): boolean {
    return this.sockets.size >= this.options.maxSockets;
  }

  /** Every open socket (for drain and broadcast). */
  openSockets(): Iterable<Socket> {
    return this.sockets;
  }

  async listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.options.host, this.options.port, (socket) => {
        if (!socket) return reject(new Error(`signal: cannot listen on ${this.options.host}:${this.options.port}`));
        this.listenSocket = socket;
        this.port = this.options.uws.us_socket_local_port(socket);
        resolve(this.port);
      });
    });
  }

  /** Closes the listening socket (an upgrade on a connection already accepted gets 503); existing sockets stay. */
  stopAccepting(): void {
    this.accepting = false;
    if (this.listenSocket) {
      this.options.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
  }

  /** Stops accepting and closes every socket with `code`. */
  close(code: number, reason: string): void {
    this.stopAccepting();
    for (const ws of [...this.sockets]) {
      try {
        ws.end(code, reason);
      } catch {
        // already closed
      }
    }
  }

  /**
   * uWS's filter: +1 when a connection is accepted, -1 when one that has not upgraded closes (an
   * upgraded one leaves without a -1). The gate may keep the accepted connection's handle until
   * its first request head arrives (uWS hands `onData` the empty or first body chunk right after
   * the route handler; the HTTP handlers never close a connection without answering) or it
   * closes (`onAborted`), or, for an upgrade, which skips `onData`, until the upgrade handler
   * calls `gate.upgrading` (see ConnectionGate).
   */
  private track(res: HttpResponse, count: number): void {
    if (count < 0) return this.gate.closed();
    const key = this.gate.accepted(res, Buffer.from(res.getRemoteAddressAsText()).toString());
    if (key === undefined) return;
    res.onAborted(() => this.gate.closedSilently(key));
    res.onData(() => this.gate.requested(key));
  }

  private guard(ws: Socket, event: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      const data = ws.getUserData();
      this.options.log.error({ err, event, conn: data.conn, route: data.route }, 'socket handler failed');
      if (!data.closed) {
        try {
          ws.end(CLOSE_CODES.INTERNAL_ERROR, 'internal error');
        } catch {
          // already closed
        }
      }
    }
  }

  /** Registers `route`, and for a GET route its HEAD twin: the same status and headers, no body. */
  private addHttpRoute(route: HttpRoute): void {
    this.app[route.method](route.path, (res) => this.answer(route, res, true));
    if (route.method === 'get') this.app.head(route.path, (res) => this.answer(route, res, false));
  }

  private answer(route: HttpRoute, res: HttpResponse, withBody: boolean): void {
    let aborted = false;
    res.onAborted(() => { aborted = true; });
    const send = (status: number, contentType: string, body: string): void => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(STATUS_TEXT[status] ?? `${status} Status`).writeHeader('Content-Type', contentType);
        // Closed with the answer: a kept-alive connection could not be bounded (see `track`).
        // HEAD states the length GET's body would have (without one, this build sends 2^63).
        if (withBody) res.end(body, true);
        else res.endWithoutBody(Buffer.byteLength(body), true);
      });
    };
    Promise.resolve()
      .then(() => route.handle())
      .then((out) => send(out.status, out.contentType, out.body))
      .catch((err: unknown) => {
        this.options.log.error({ err, path: route.path }, 'http route failed');
        send(500, 'application/json', jsonError('internal_error', 'Unexpected server error.'));
      });
  }

  private addWsRoute(path: string, handler: WsRouteHandler<unknown>): void {
    const { log } = this.options;
    this.app.ws<SocketData>(path, {
      maxPayloadLength: this.options.limits.maxPayloadLength,
      idleTimeout: this.options.limits.idleTimeoutSec,
      maxBackpressure: this.options.limits.maxBackpressure,
      closeOnBackpressureLimit: false,
      sendPingsAutomatically: true,
      // Synchronous on purpose: see WsRouteHandler.authenticate.
      upgrade: (res, req, context) => {
        // The connection is closed with the answer: its descriptor is what a full node lacks.
        const reject = (reason: UpgradeRefusal, status: 401 | 503, code: string, message: string) => {
          this.options.onUpgradeRefused?.(reason);
          res.writeStatus(STATUS_TEXT[status]!).writeHeader('Content-Type', 'application/json').end(jsonError(code, message), true);
        };
        if (!this.accepting) return reject('draining', 503, 'service_unavailable', 'Node is draining; connect to another node.');
        if (this.full) return reject('full', 503, 'service_unavailable', 'Node is full; connect to another node.');
        const { token, protocol } = tokenFromUpgrade(req.getQuery() ?? '', req.getHeader('sec-websocket-protocol'));
        if (!token) return reject('unauthorized', 401, 'unauthorized', 'Missing token.');
        let identity: unknown;
        try {
          identity = handler.authenticate(token);
        } catch (err) {
          log.debug({ err, route: path }, 'upgrade rejected');
          return reject('unauthorized', 401, 'unauthorized', err instanceof AppError ? err.message : 'Invalid token.');
        }
        const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
        const data: SocketData = { conn: newId(), route: path, ip, identity, closed: false };
        this.gate.upgrading(ip);
        res.upgrade(data, req.getHeader('sec-websocket-key'), protocol, req.getHeader('sec-websocket-extensions'), context);
      },
      // An exception escaping a uWS callback makes uWS drop the connection without a close
      // frame (the client sees 1006), so every handler call is guarded and logged.
      open: (ws) => {
        this.gate.upgraded();
        this.sockets.add(ws as Socket);
        this.guard(ws, 'open', () => handler.open(ws));
      },
      message: (ws, message, isBinary) => this.guard(ws, 'message', () => handler.message(ws, message, isBinary)),
      drain: (ws) => this.guard(ws, 'drain', () => handler.drain?.(ws)),
      close: (ws, code, message) => {
        this.sockets.delete(ws as Socket);
        ws.getUserData().closed = true;
        this.guard(ws, 'close', () => handler.close(ws, code, Buffer.from(message).toString()));
      },
    });
  }
}
