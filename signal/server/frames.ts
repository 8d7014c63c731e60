import type { ErrorCode } from '../../shared/errors/index.js';
import type { Socket } from './ws-route.js';

/** Sends one JSON frame; returns false when the socket is closed or the frame was dropped. */
export function sendFrame(ws: Socket, frame: { type: string; id?: string; data?: unknown }): boolean {
  if (ws.getUserData().closed) return false;
  try {
    return ws.send(JSON.stringify(frame), false) !== 2;
  } catch {
    return false;
  }
}

export function sendError(ws: Socket, code: ErrorCode, message: string, id?: string): boolean {
  return sendFrame(ws, { type: 'error', ...(id ? { id } : {}), data: { code, message } });
}
