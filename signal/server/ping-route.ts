import type { Logger } from 'pino';
import { sendError, sendFrame } from './frames.js';
import type { WsRouteHandler } from './ws-route.js';

/**
 * A route that authenticates at upgrade and answers `ping` with `pong`, refusing every other
 * frame with an `error`. The placeholder for routes whose protocol is not built yet.
 */
export function pingOnlyRoute<I>(authenticate: (token: string) => I, log: Logger): WsRouteHandler<I> {
  return {
    authenticate,
    open(ws) {
      log.debug({ conn: ws.getUserData().conn }, 'socket open');
    },
    message(ws, data, isBinary) {
      let frame: { type?: unknown; id?: unknown };
      try {
        if (isBinary) throw new Error('binary');
        frame = JSON.parse(Buffer.from(data).toString('utf8')) as typeof frame;
      } catch {
        sendError(ws, 'validation_error', 'Frames must be JSON text.');
        return;
      }
      const id = typeof frame.id === 'string' ? frame.id : undefined;
      if (frame.type === 'ping') sendFrame(ws, { type: 'pong', ...(id ? { id } : {}) });
      else sendError(ws, 'validation_error', 'Unknown message type.', id);
    },
    close() {},
  };
}
