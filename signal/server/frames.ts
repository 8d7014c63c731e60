import type { ErrorCode } from '../../shared/errors/index.js';
import { encodeFrame, errorFrame, type ChatServerMessage, type UnsequencedMessage } from '../../shared/protocol/index.js';
import { UWS_SEND } from './uws.js';
import type { Socket } from './ws-route.js';

/** Sends one JSON frame; returns false when the socket is closed or the frame was dropped. */
export function sendFrame(ws: Socket, frame: UnsequencedMessage | ChatServerMessage): boolean {
  return sendText(ws, encodeFrame(frame));
}

function sendText(ws: Socket, text: string): boolean {
  if (ws.getUserData().closed) return false;
  try {
    return ws.send(text, false) !== UWS_SEND.DROPPED;
  } catch {
    return false;
  }
}

export function sendError(ws: Socket, code: ErrorCode, message: string, id?: string): boolean {
  return sendText(ws, errorFrame(code, message, id));
}
