import type { ValidateFunction } from '../schemas/ajv.js';
import { createAjv } from '../schemas/ajv.js';
import { frameParser, type ParsedFrameOf } from '../protocol/frame-parser.js';
import type { ChatMessage } from './types.js';

/**
 * Most conversations (the most recently active ones) whose counterparts a user's presence change
 * is sent to, and whose counterparts' presence the `resume` ack reports.
 */
export const MAX_PRESENCE_FANOUT = 100;
/** Most conversations one `resume` may name. */
export const MAX_RESUME_CONVERSATIONS = 1000;
const ID = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' } as const;
const CONVERSATION = { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' } as const;
const SEQ = { type: 'integer', minimum: 0, maximum: 2 ** 50 } as const;

interface Req<T extends string, D> { type: T; id?: string; data: D }

export type ChatResume = Req<'resume', { conversations: Record<string, number> }>;
export type ChatSend = Req<'send', { conversation_id: string; client_id: string; text?: string; image_id?: string }>;
export type ChatTyping = Req<'typing', { conversation_id: string }>;
export type ChatRead = Req<'read', { conversation_id: string; seq: number }>;
export type ChatPing = Req<'ping', { ts?: number }>;
export type ChatReauth = Req<'reauth', { token: string }>;

/** Every frame a chat client may send. */
export type ChatClientMessage = ChatResume | ChatSend | ChatTyping | ChatRead | ChatPing | ChatReauth;
export type ChatClientType = ChatClientMessage['type'];
export const CHAT_CLIENT_TYPES = ['resume', 'send', 'typing', 'read', 'ping', 'reauth'] as const satisfies readonly ChatClientType[];

/** Every frame the server sends on `/v1/chat/ws`. */
export type ChatServerMessage =
  | { type: 'ready'; data: { user_id: string; expires_at: number } }
  | { type: 'message'; data: { message: ChatMessage } }
  | { type: 'typing'; data: { conversation_id: string; user_id: string } }
  | { type: 'read'; data: { conversation_id: string; user_id: string; seq: number } }
  | { type: 'conversation'; data: { conversation_id: string; change: string; user_id: string } }
  /** Counterparts' presence: `true` online (a chat or signaling socket on some node), `false` offline. */
  | { type: 'presence'; data: { users: Record<string, boolean> } }
  | { type: 'reload'; data: { conversation_id: string; reason: 'too_many' | 'unknown_position' | 'not_found' } }
  | { type: 'reauth-required'; data: { expires_at: number; deadline: number } }
  | { type: 'pong'; id?: string; data: { ts?: number; server_ts: number } }
  | { type: 'ack'; id: string; data: Record<string, unknown> }
  | { type: 'error'; id?: string; data: { code: string; message: string; details?: Record<string, string> } };

function frame(type: ChatClientType, data: Record<string, unknown>, idRequired: boolean, example: unknown): Record<string, unknown> {
  return {
    $id: `https://vidivo.app/schemas/chat/${type}.json`,
    type: 'object', additionalProperties: false,
    required: idRequired ? ['type', 'id', 'data'] : ['type', 'data'],
    properties: { type: { const: type }, id: ID, data: { type: 'object', additionalProperties: false, ...data } },
    'x-example': example,
  };
}

/** One JSON Schema per client frame: validation on the server and the examples of docs/chat.md. */
export function chatClientSchemas(maxTextChars: number): Record<ChatClientType, Record<string, unknown>> {
  return {
    resume: frame('resume', {
      required: ['conversations'],
      properties: { conversations: { type: 'object', maxProperties: MAX_RESUME_CONVERSATIONS, propertyNames: CONVERSATION, additionalProperties: SEQ } },
    }, false, { type: 'resume', id: 'r1', data: { conversations: { '01J9Z3NDEKTSV4RRFFQ69G5FAV': 41 } } }),
    send: frame('send', {
      required: ['conversation_id', 'client_id'],
      properties: { conversation_id: CONVERSATION, client_id: ID, text: { type: 'string', maxLength: maxTextChars * 2 }, image_id: CONVERSATION },
    }, true, { type: 'send', id: 's1', data: { conversation_id: '01J9Z3NDEKTSV4RRFFQ69G5FAV', client_id: 'c-7f3a', text: 'See you at 5?' } }),
    typing: frame('typing', { required: ['conversation_id'], properties: { conversation_id: CONVERSATION } }, false,
      { type: 'typing', data: { conversation_id: '01J9Z3NDEKTSV4RRFFQ69G5FAV' } }),
    read: frame('read', { required: ['conversation_id', 'seq'], properties: { conversation_id: CONVERSATION, seq: SEQ } }, false,
      { type: 'read', id: 'rd1', data: { conversation_id: '01J9Z3NDEKTSV4RRFFQ69G5FAV', seq: 42 } }),
    ping: frame('ping', { properties: { ts: { type: 'number' } } }, false, { type: 'ping', id: 'p1', data: { ts: 1700000000000 } }),
    reauth: frame('reauth', { required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 8192 } } }, false,
      { type: 'reauth', id: 'a1', data: { token: 'eyJ…' } }),
  };
}

export type ParsedChatFrame = ParsedFrameOf<ChatClientMessage>;

/** Builds the parser of chat client frames (see `frameParser`). */
export function chatFrameParser(maxTextChars: number): (text: string) => ParsedChatFrame {
  const ajv = createAjv();
  const schemas = chatClientSchemas(maxTextChars);
  const validators = Object.fromEntries(CHAT_CLIENT_TYPES.map((t) => [t, ajv.compile(schemas[t])])) as Record<ChatClientType, ValidateFunction>;
  return frameParser<ChatClientMessage>(CHAT_CLIENT_TYPES, validators, new RegExp(ID.pattern), { defaultDataFirst: true });
}
