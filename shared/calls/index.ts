export type { Call, Party, Peer } from './call.js';
export { PARTIES, PEERS, peerOf } from './call.js';
export type { CallStore, MediaUpOptions, TransitionOptions, TransitionResult } from './call-store.js';
export { callFromDocument, MongoCallStore, type CallDocument } from './mongo-call-store.js';
export { MemoryCallStore } from './memory-call-store.js';
export * from './state-machine.js';
export { announcementOf, callsChannelName, type CallAnnouncement } from './announcement.js';
export { hostBusyError } from './host-claims.js';
export { DeadlineCallStore } from './deadline-call-store.js';
