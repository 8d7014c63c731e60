/**
 * WebSocket close codes. 4000–4499: the client should reconnect (with a fresh token if needed);
 * 4500–4999: it should not reconnect without user action. Documented in docs/signaling.md.
 */
export const CLOSE_CODES = {
  /** The node is draining or shutting down; reconnect to any node and `join` with `last_seq`. */
  SERVER_SHUTDOWN: 4000,
  /** The token expired and no `reauth` arrived before the deadline; reconnect with a fresh token. */
  TOKEN_EXPIRED: 4001,
  /** No `join` within the allowed time after connecting. */
  JOIN_TIMEOUT: 4002,
  /** No frame (e.g. `ping`) within the idle timeout. */
  IDLE_TIMEOUT: 4003,
  /** The socket's send buffer exceeded its limit (slow consumer); reconnect and resume. */
  BACKPRESSURE: 4004,
  /** The same peer joined again on another socket; this older socket is replaced. */
  REPLACED: 4005,
  /** The server failed while handling this socket (logged); reconnect and resume. */
  INTERNAL_ERROR: 4006,
  /** Too many protocol violations (malformed frames, schema errors). */
  POLICY_VIOLATION: 4500,
  /** Messages kept arriving faster than the per-socket rate limit. */
  RATE_LIMITED: 4501,
  /** Too many sockets for this user on this node. */
  TOO_MANY_SOCKETS: 4502,
  /** A frame larger than the maximum size. */
  FRAME_TOO_LARGE: 4503,
  /** The call has ended (or does not exist); there is nothing to reconnect to. */
  CALL_ENDED: 4504,
  /** The token is not valid for this connection (wrong call, wrong user). */
  UNAUTHORIZED: 4505,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

/** True for codes after which a client should reconnect (4000–4499). */
export function shouldReconnect(code: number): boolean {
  return code >= 4000 && code < 4500;
}

/** The constant name of a close code (for metrics labels and logs), or `other`. */
export function closeCodeName(code: number): string {
  for (const [name, value] of Object.entries(CLOSE_CODES)) if (value === code) return name;
  return code === 1000 ? 'NORMAL' : code === 1001 ? 'GOING_AWAY' : code === 1006 ? 'ABNORMAL' : 'other';
}
