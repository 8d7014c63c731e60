import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { ChatCore } from '../../shared/chat/chat-core.js';
import type { SyncTokenVerifier } from '../../shared/tokens/index.js';
import type { Broker } from '../broker/broker.js';
import { BrokerChatNotifier } from './broker-notifier.js';
import { ChatRoute } from './chat-route.js';
import type { ChatPresence } from './counterpart-presence.js';
import { LocalUserRate, RedisUserRate } from './user-rate.js';

export { ChatRoute } from './chat-route.js';

/**
 * The chat WebSocket route of a signal node, on the shared database and the node's broker. Creates
 * the chat indexes first: the unique (conversation, seq) index is what keeps numbers unique. With
 * `redis` the per-user frame budget is shared by all nodes, else it is per node.
 */
export async function createChatRoute(deps: {
  db: Db; broker: Broker; verifier: Pick<SyncTokenVerifier, 'verifyAccess'>; config: Config; log: Logger; presence?: ChatPresence; redis?: Redis;
}): Promise<ChatRoute> {
  const { config } = deps;
  const log = deps.log.child({ component: 'chat' });
  const core = new ChatCore(deps.db, new BrokerChatNotifier(deps.broker, config.redis.prefix, log), { maxTextChars: config.chat.maxTextChars });
  await core.ensureIndexes();
  const s = config.signal;
  const { userRatePerSec, userRateBurst } = config.chat;
  const userRate = deps.redis ? new RedisUserRate(deps.redis, config.redis.prefix, userRatePerSec, userRateBurst) : new LocalUserRate(userRatePerSec, userRateBurst);
  return new ChatRoute({
    userRate,
    verifier: deps.verifier, core, broker: deps.broker, prefix: config.redis.prefix, log, ...(deps.presence ? { presence: deps.presence } : {}),
    limits: {
      maxFrameBytes: s.maxFrameBytes, ratePerSec: s.ratePerSec, rateBurst: s.rateBurst, maxSocketsPerUser: s.maxSocketsPerUser, maxBufferedBytes: s.maxBufferedBytes,
      maxViolations: s.maxViolations, reauthLeadMs: s.reauthLeadMs, reauthGraceMs: s.reauthGraceMs, timerMs: s.timerMs,
      recoveryMax: config.chat.recoveryMax, typingIntervalMs: config.chat.typingIntervalMs, maxTextChars: config.chat.maxTextChars,
      userRatePerSec: config.chat.userRatePerSec, userRateBurst: config.chat.userRateBurst,
    },
  });
}
