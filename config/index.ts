export { loadConfig, ConfigError, type LoadConfigOptions } from './load.js';
export { ALL_SETTINGS } from './settings/index.js';
export type { Config, RateLimitRule } from './types.js';
export type { Setting } from './setting.js';
