export type { Call, Party, Peer } from './call.js';
export { PARTIES, PEERS, peerOf } from './call.js';
export type { CallStore, MediaUpOptions, TransitionOptions, TransitionResult } from './call-store.js';
export { callFromDocument, MongoCallStore, type CallDocument } from './mongo-call-store.js';
export { MemoryCallStore } from './memory-call-store.js';
export * from './state-machine.js';
export { announcementOf, callsChannelName, type CallAnnouncement } from './announcement.js';
export { hostBusyError } from './host-claims.js';
export { DeadlineCallStore } from './deadline-call-store.js';
export {
  CALL_CACHE_RETRY_MS, CALL_CACHE_TTL_MS, CachedCallStore, decodeCachedCall, encodeCachedCall,
  type CallCache, type CallCacheFailure, type CallCacheWriter, type CallLookup,
} from './call-cache.js';
export { MemoryCallCache } from './memory-call-cache.js';
export { RedisCallCache, callCacheKey } from './redis-call-cache.js';
