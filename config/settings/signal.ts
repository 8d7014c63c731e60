import { defineSettings } from '../setting.js';

export const signalSettings = defineSettings([
  { env: 'SIGNAL_PORT', key: 'signal.port', schema: { type: 'integer', minimum: 0, maximum: 65535 }, default: 3001, doc: 'Signaling (WebSocket) port (0 picks a free one).' },
  { env: 'SIGNAL_PUBLIC_URL', key: 'signal.publicUrl', schema: { type: 'string', pattern: '^wss?://' }, doc: 'Public WebSocket URL handed to clients; default ws://HOST:SIGNAL_PORT/signal/ws.' },
  { env: 'SIGNAL_HEARTBEAT_MS', key: 'signal.heartbeatMs', schema: { type: 'integer', minimum: 100, maximum: 60000 }, default: 2000, doc: 'How often a node refreshes its liveness key in Redis.' },
  { env: 'SIGNAL_NODE_TTL_MS', key: 'signal.nodeTtlMs', schema: { type: 'integer', minimum: 300, maximum: 300000 }, default: 6000, doc: 'A node whose liveness key is older than this is dead.' },
  { env: 'UWS_ALLOW_FALLBACK', key: 'signal.allowFallback', schema: { type: 'boolean' }, default: false, doc: 'Development only: start even when uWebSockets.js cannot load its native addon (7x slower JS fallback).' },
]);
