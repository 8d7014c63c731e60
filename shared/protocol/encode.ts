import type { ErrorCode } from '../errors/index.js';
import type { ChatServerMessage, SequencedFrames, ServerMessage } from './messages.js';

/** A server frame without a sequence number (replies and control frames). */
export type UnsequencedMessage = Exclude<ServerMessage, { seq: number }>;

/** A sequenced frame before its `seq` is assigned: `{"type":…,"data":…}` (the node splices `seq` in per peer). */
export type SequencedBody<K extends keyof SequencedFrames = keyof SequencedFrames> = { type: K; data: SequencedFrames[K] };

/**
 * The one place server frames are serialized. Every frame is one `JSON.stringify` of an object
 * whose keys are in wire order (`type`, `id`, `data`), so a frame is built once and never
 * re-parsed: a relayed frame's body is serialized once for every socket and node it goes to.
 */
export function encodeFrame(frame: UnsequencedMessage | ChatServerMessage): string {
  return JSON.stringify(frame);
}

/** The body of a sequenced frame (`withSeq` numbers it per peer). */
export function encodeSequenced<K extends keyof SequencedFrames>(type: K, data: SequencedFrames[K]): string {
  return JSON.stringify({ type, data } satisfies SequencedBody<K>);
}

/** An `ack` reply; `id` is left out when the request had none, `data` when there is none. */
export function ackFrame(id: string | undefined, data?: unknown): string {
  if (data === undefined) return encodeFrame(id ? { type: 'ack', id } : { type: 'ack' });
  return encodeFrame({ type: 'ack', ...(id ? { id } : {}), data });
}

/** An `error` frame (a reply when `id` is given). */
export function errorFrame(code: ErrorCode, message: string, id?: string, details?: Record<string, string>): string {
  return encodeFrame({ type: 'error', ...(id ? { id } : {}), data: { code, message, ...(details ? { details } : {}) } });
}
