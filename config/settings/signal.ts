import { defineSettings } from '../setting.js';

const ICE_SERVER = {
  type: 'object', additionalProperties: false, required: ['urls'],
  properties: {
    urls: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }] },
    username: { type: 'string' }, credential: { type: 'string' },
  },
};

export const signalSettings = defineSettings([
  { env: 'SIGNAL_PORT', key: 'signal.port', schema: { type: 'integer', minimum: 0, maximum: 65535 }, default: 3001, doc: 'Signaling (WebSocket) port (0 picks a free one).' },
  { env: 'SIGNAL_PUBLIC_URL', key: 'signal.publicUrl', schema: { type: 'string', pattern: '^wss?://' }, doc: 'Public WebSocket URL handed to clients; default ws://HOST:SIGNAL_PORT/signal/ws.' },
  { env: 'SIGNAL_HEARTBEAT_MS', key: 'signal.heartbeatMs', schema: { type: 'integer', minimum: 100, maximum: 60000 }, default: 2000, doc: 'How often a node refreshes its liveness key (and its users\' presence keys) in Redis.' },
  { env: 'SIGNAL_NODE_TTL_MS', key: 'signal.nodeTtlMs', schema: { type: 'integer', minimum: 300, maximum: 300000 }, default: 6000, doc: 'A node whose liveness key is older than this is dead; its peers become `reconnecting`.' },
  { env: 'UWS_ALLOW_FALLBACK', key: 'signal.allowFallback', schema: { type: 'boolean' }, default: false, doc: 'Development only: start even when uWebSockets.js cannot load its native addon (7x slower JS fallback).' },
  { env: 'SIGNAL_MAX_FRAME_BYTES', key: 'signal.maxFrameBytes', schema: { type: 'integer', minimum: 1024, maximum: 1048576 }, default: 65536, doc: 'Largest client frame; larger gets `payload_too_large` and close 4503.' },
  { env: 'SIGNAL_RATE_PER_SEC', key: 'signal.ratePerSec', schema: { type: 'number', minimum: 1, maximum: 100000 }, default: 50, doc: 'Token-bucket refill rate: frames per second per socket.' },
  { env: 'SIGNAL_RATE_BURST', key: 'signal.rateBurst', schema: { type: 'integer', minimum: 1, maximum: 100000 }, default: 100, doc: 'Token-bucket size: frames a socket may send at once.' },
  { env: 'SIGNAL_MAX_SOCKETS_PER_USER', key: 'signal.maxSocketsPerUser', schema: { type: 'integer', minimum: 1, maximum: 1000 }, default: 5, doc: 'Open signaling sockets per user (token `sub`) on one node; one more is closed with 4502.' },
  { env: 'SIGNAL_JOIN_TIMEOUT_MS', key: 'signal.joinTimeoutMs', schema: { type: 'integer', minimum: 100, maximum: 600000 }, default: 5000, doc: 'A socket must `join` within this long after connecting, or is closed with 4002.' },
  { env: 'SIGNAL_IDLE_TIMEOUT_MS', key: 'signal.idleTimeoutMs', schema: { type: 'integer', minimum: 200, maximum: 3600000 }, default: 60000, doc: 'A socket that sends no frame (send `ping`) for this long is closed with 4003.' },
  { env: 'SIGNAL_MAX_BUFFERED_BYTES', key: 'signal.maxBufferedBytes', schema: { type: 'integer', minimum: 4096, maximum: 268435456 }, default: 1048576, doc: 'Send-buffer limit per socket (uWS backpressure); a slower consumer is closed with 4004.' },
  { env: 'SIGNAL_MAX_VIOLATIONS', key: 'signal.maxViolations', schema: { type: 'integer', minimum: 1, maximum: 1000 }, default: 5, doc: 'Bad frames (malformed, unknown type, schema violation, not allowed) before close 4500; rate-limited frames before close 4501.' },
  { env: 'SIGNAL_RECONNECT_GRACE_MS', key: 'signal.reconnectGraceMs', schema: { type: 'integer', minimum: 100, maximum: 3600000 }, default: 30000, doc: 'How long a dropped peer stays `reconnecting` before an active call ends with reason `failure`.' },
  { env: 'SIGNAL_REPLAY_BUFFER', key: 'signal.replayBuffer', schema: { type: 'integer', minimum: 1, maximum: 100000 }, default: 256, doc: 'Frames kept per peer for replay after a reconnect (Redis list, trimmed).' },
  { env: 'SIGNAL_TICK_MS', key: 'signal.tickMs', schema: { type: 'integer', minimum: 100, maximum: 3600000 }, default: 60000, doc: 'Billing tick period of an active call (one `tick` event per period, on one node).' },
  { env: 'SIGNAL_SWEEP_MS', key: 'signal.sweepMs', schema: { type: 'integer', minimum: 50, maximum: 60000 }, default: 1000, doc: 'How often a node sweeps for dead nodes, expired grace periods and due ticks.' },
  { env: 'SIGNAL_TIMER_MS', key: 'signal.timerMs', schema: { type: 'integer', minimum: 20, maximum: 10000 }, default: 250, doc: 'Resolution of per-socket deadlines (join, idle, reauth).' },
  { env: 'SIGNAL_REAUTH_LEAD_MS', key: 'signal.reauthLeadMs', schema: { type: 'integer', minimum: 0, maximum: 3600000 }, default: 60000, doc: 'The server sends `reauth-required` this long before the token expires.' },
  { env: 'SIGNAL_REAUTH_GRACE_MS', key: 'signal.reauthGraceMs', schema: { type: 'integer', minimum: 0, maximum: 3600000 }, default: 30000, doc: 'A socket may outlive its token by this long waiting for `reauth`; then close 4001.' },
  { env: 'SIGNAL_PRESENCE_TTL_MS', key: 'signal.presenceTtlMs', schema: { type: 'integer', minimum: 500, maximum: 3600000 }, default: 15000, doc: 'TTL of `<prefix>:presence:user:<id>` (refreshed every heartbeat while the user has a socket).' },
  { env: 'SIGNAL_ICE_SERVERS', key: 'signal.iceServers', json: true, schema: { type: 'array', maxItems: 16, items: ICE_SERVER }, default: [{ urls: 'stun:stun.l.google.com:19302' }], doc: 'JSON array of RTCIceServer objects returned in the `join` reply.' },
]);
