export { RedisScript } from '../shared/runtime/redis-script.js';
