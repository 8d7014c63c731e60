/**
 * WebSocket close codes. 4000–4499: the client should reconnect (with a fresh token if needed);
 * 4500–4999: it should not reconnect without user action.
 */
export const CLOSE_CODES = {
  /** The node is draining or shutting down; reconnect to any node. */
  SERVER_SHUTDOWN: 4000,
  /** The token expired and no `reauth` arrived in time; reconnect with a fresh token. */
  TOKEN_EXPIRED: 4001,
  /** No `join` within the allowed time after connecting. */
  JOIN_TIMEOUT: 4002,
  /** No traffic (ping/pong) within the idle timeout. */
  IDLE_TIMEOUT: 4003,
  /** The socket's send buffer exceeded its limit (slow consumer); reconnect and resume. */
  BACKPRESSURE: 4004,
  /** The same peer connected again elsewhere; this older socket is replaced. */
  REPLACED: 4005,
  /** Too many protocol violations (malformed frames, schema errors). */
  POLICY_VIOLATION: 4500,
  /** Too many messages per second. */
  RATE_LIMITED: 4501,
  /** Too many sockets for this user. */
  TOO_MANY_SOCKETS: 4502,
  /** A frame larger than the maximum size. */
  FRAME_TOO_LARGE: 4503,
  /** The call has ended; there is nothing to reconnect to. */
  CALL_ENDED: 4504,
  /** The token is not valid for this connection (revoked, wrong call). */
  UNAUTHORIZED: 4505,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

export function shouldReconnect(code: number): boolean {
  return code >= 4000 && code < 4500;
}
