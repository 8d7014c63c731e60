export type { Broker, BrokerHandler, BrokerMessage, BrokerStatus, SubscribeOptions, Subscription } from './broker.js';
export { nodeChannelName, roomChannelName } from './broker.js';
export { MemoryBroker, MemoryHub, type MemoryBrokerOptions } from './memory-broker.js';
export { RedisBroker, type RedisBrokerOptions } from './redis-broker.js';
export type { NodeRegistry } from './node-registry.js';
export { MemoryNodeRegistry, type MemoryNodeRegistryOptions } from './memory-node-registry.js';
export { RedisNodeRegistry, type RedisNodeRegistryOptions } from './redis-node-registry.js';
