import { defineSettings } from '../setting.js';

export const chatSettings = defineSettings([
  { env: 'CHAT_MAX_TEXT_CHARS', key: 'chat.maxTextChars', schema: { type: 'integer', minimum: 1, maximum: 100000 }, default: 4000, doc: 'Longest chat message text in characters (code points); longer gets `validation_error`.' },
  { env: 'CHAT_IMAGE_MAX_BYTES', key: 'chat.image.maxBytes', schema: { type: 'integer', minimum: 1024, maximum: 52428800 }, default: 10485760, doc: 'Largest chat image upload in bytes; larger gets 413 `payload_too_large`.' },
  { env: 'CHAT_IMAGE_MAX_PIXELS', key: 'chat.image.maxPixels', schema: { type: 'integer', minimum: 1, maximum: 268435456 }, default: 40000000, doc: 'Largest chat image in pixels (width x height, read from the header); larger gets 400 `validation_error`.' },
  { env: 'CHAT_RECOVERY_MAX', key: 'chat.recoveryMax', schema: { type: 'integer', minimum: 1, maximum: 100000 }, default: 1000, doc: 'Most missed messages one conversation replays on a WebSocket `resume`; beyond it the client is told to `reload` that conversation over REST.' },
  { env: 'CHAT_TYPING_INTERVAL_MS', key: 'chat.typingIntervalMs', schema: { type: 'integer', minimum: 100, maximum: 60000 }, default: 2000, doc: 'At most one `typing` per conversation per socket in this interval is forwarded; more are dropped silently.' },
  { env: 'CHAT_USER_RATE_PER_SEC', key: 'chat.userRatePerSec', schema: { type: 'number', minimum: 1, maximum: 100000 }, default: 100, doc: 'Token-bucket refill rate: chat frames per second per user, over all of that user\'s chat sockets (on every node with Redis, else per node; on top of the per-socket SIGNAL_RATE_PER_SEC); each excess frame gets `rate_limited`.' },
  { env: 'CHAT_USER_RATE_BURST', key: 'chat.userRateBurst', schema: { type: 'integer', minimum: 1, maximum: 100000 }, default: 200, doc: 'Token-bucket size: chat frames one user may send at once over their chat sockets (on every node with Redis, else per node).' },
  { env: 'CHAT_BROADCAST_RATE_PER_SEC', key: 'chat.broadcast.ratePerSec', schema: { type: 'integer', minimum: 1, maximum: 100000 }, default: 2000, doc: 'Broadcast messages written per second per API process (all running broadcasts together).' },
  { env: 'CHAT_BROADCAST_BATCH', key: 'chat.broadcast.batch', schema: { type: 'integer', minimum: 1, maximum: 1000 }, default: 500, doc: 'Followers read and written per broadcast batch; the event loop is yielded between batches.' },
]);
