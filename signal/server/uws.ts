import { createRequire } from 'node:module';
import type * as UwsTypes from 'uWebSockets.js';

export type Uws = typeof UwsTypes;

const require = createRequire(import.meta.url);

/**
 * Loads uWebSockets.js (a native addon; the package has no JS fallback). On a platform it has
 * no build for, the error says which Node and platform were found and what the build needs.
 */
export function loadUws(): Uws {
  try {
    return require('uWebSockets.js') as Uws;
  } catch (err) {
    const found = `Node ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules})`;
    throw new Error(`uWebSockets.js could not load its native addon on ${found}: it needs Node 20, 22, 24 or 25 on Linux (glibc ≥ 2.36; node_modules installed with its postinstall step), macOS or Windows. ${(err as Error).message}`, { cause: err });
  }
}

/** What uWS `WebSocket.send` returns. */
export const UWS_SEND = {
  /** Sent, but the socket's buffer is building up (backpressure). */
  BACKPRESSURE: 0,
  SUCCESS: 1,
  /** Not sent: the socket's buffer is over `maxBackpressure`. */
  DROPPED: 2,
} as const;
