import { createRequire } from 'node:module';
import type * as UwsTypes from 'uWebSockets.js';
import type { Logger } from 'pino';

export type Uws = typeof UwsTypes;

const require = createRequire(import.meta.url);

/** True when the loaded uWebSockets.js is the native addon rather than its JS `ws` fallback. */
function nativeAddonLoaded(): boolean {
  return Object.keys(require.cache).some((path) => /uWebSockets\.js[\\/]binaries[\\/]uws_.*\.node$/.test(path));
}

/**
 * Loads uWebSockets.js and insists on the native addon: the package silently falls back to a
 * ~7x slower JS implementation on unsupported Node builds. `allowFallback` (development only)
 * lets it start anyway with a loud warning.
 */
export function loadUws(options: { allowFallback: boolean; log: Logger }): Uws {
  const uws = require('uWebSockets.js') as Uws;
  if (nativeAddonLoaded()) return uws;
  const message = `uWebSockets.js could not load its native addon for Node ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules})`;
  if (!options.allowFallback) {
    throw new Error(`${message}; refusing to run on the slow JS fallback. Use Node 20 on glibc ≥ 2.36, or set UWS_ALLOW_FALLBACK=true for development.`);
  }
  options.log.warn({ node: process.version }, `${message}; RUNNING ON THE JS FALLBACK (development only: ~7x slower, ~5x memory per socket)`);
  return uws;
}

/** What uWS `WebSocket.send` returns. */
export const UWS_SEND = {
  /** Sent, but the socket's buffer is building up (backpressure). */
  BACKPRESSURE: 0,
  SUCCESS: 1,
  /** Not sent: the socket's buffer is over `maxBackpressure`. */
  DROPPED: 2,
} as const;
