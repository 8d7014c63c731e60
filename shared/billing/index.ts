export * from './minute-store.js';
export { MongoMinuteStore } from './mongo-minute-store.js';
export { MinuteRecorder, type MinuteRecorderOptions } from './minute-recorder.js';
export { MongoFundingStore, type CallFunding, type FundingSource } from './funding.js';
export { RedisMinuteOutbox, type MinuteOutbox } from './redis-minute-outbox.js';
