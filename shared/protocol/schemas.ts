import type { ValidateFunction } from '../schemas/ajv.js';
import { createAjv } from '../schemas/ajv.js';
import { frameParser, type ParsedFrameOf } from './frame-parser.js';
import { CLIENT_TYPES, MAX_CANDIDATE_CHARS, MAX_SDP_CHARS, MEDIA_STATES, type ClientMessage, type ClientType } from './messages.js';

const ID = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' } as const;
const ID_PATTERN = new RegExp(ID.pattern);
const PEER = { type: 'string', pattern: '^[a-z0-9_-]{1,32}$' } as const;
const SDP = { type: 'string', minLength: 1, maxLength: MAX_SDP_CHARS } as const;
/** Highest `last_seq` a client may claim: far past any call's sequence numbers, and counting on from it stays exact. */
export const MAX_LAST_SEQ = 2 ** 50;

const CANDIDATE = {
  type: 'object',
  additionalProperties: false,
  required: ['candidate'],
  properties: {
    candidate: { type: 'string', maxLength: MAX_CANDIDATE_CHARS },
    sdpMid: { type: ['string', 'null'], maxLength: 64 },
    sdpMLineIndex: { type: ['integer', 'null'], minimum: 0, maximum: 255 },
    usernameFragment: { type: ['string', 'null'], maxLength: 256 },
  },
} as const;

function frame(type: ClientType, data: Record<string, unknown>, dataRequired: boolean, example: unknown): Record<string, unknown> {
  return {
    $id: `https://vidivo.app/schemas/signal/${type}.json`,
    type: 'object',
    additionalProperties: false,
    required: dataRequired ? ['type', 'data'] : ['type'],
    properties: { type: { const: type }, id: ID, data: { type: 'object', additionalProperties: false, ...data } },
    'x-example': example,
  };
}

/** One JSON Schema (draft 2020-12) per client frame type: the single source for validation and docs. */
export const CLIENT_SCHEMAS: Record<ClientType, Record<string, unknown>> = {
  join: frame('join', { properties: { last_seq: { type: 'integer', minimum: 0, maximum: MAX_LAST_SEQ } } }, false, { type: 'join', id: '1', data: { last_seq: 0 } }),
  offer: frame('offer', { required: ['sdp'], properties: { sdp: SDP, to: PEER } }, true, { type: 'offer', id: '2', data: { sdp: 'v=0…' } }),
  answer: frame('answer', { required: ['sdp'], properties: { sdp: SDP, to: PEER } }, true, { type: 'answer', id: '3', data: { sdp: 'v=0…' } }),
  'ice-candidate': frame('ice-candidate', { required: ['candidate'], properties: { candidate: { oneOf: [CANDIDATE, { type: 'null' }] }, to: PEER } }, true,
    { type: 'ice-candidate', data: { candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 } } }),
  'ice-restart': frame('ice-restart', { properties: { sdp: SDP, to: PEER } }, false, { type: 'ice-restart', data: { sdp: 'v=0…' } }),
  renegotiate: frame('renegotiate', { properties: { reason: { type: 'string', maxLength: 64 }, to: PEER } }, false, { type: 'renegotiate', data: { reason: 'add-video' } }),
  'mute-state': frame('mute-state', { required: ['audio', 'video'], properties: { audio: { type: 'boolean' }, video: { type: 'boolean' }, to: PEER } }, true,
    { type: 'mute-state', data: { audio: true, video: false } }),
  'media-state': frame('media-state', { required: ['state'], properties: { state: { enum: [...MEDIA_STATES] } } }, true,
    { type: 'media-state', id: '8', data: { state: 'connected' } }),
  hangup: frame('hangup', { properties: {} }, false, { type: 'hangup', id: '9' }),
  ping: frame('ping', { properties: { ts: { type: 'number' } } }, false, { type: 'ping', id: '10', data: { ts: 1700000000000 } }),
  reauth: frame('reauth', { required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 8192 } } }, true, { type: 'reauth', id: '11', data: { token: 'eyJ…' } }),
};

const ajv = createAjv();
const validators = Object.fromEntries(
  CLIENT_TYPES.map((type) => [type, ajv.compile(CLIENT_SCHEMAS[type])]),
) as Record<ClientType, ValidateFunction>;

/** Result of parsing one client text frame. */
export type ParsedFrame = ParsedFrameOf<ClientMessage>;

/** The `id` of a frame that is not handled (rate-limited), so its reply can still carry it; undefined when it has none. */
export function frameId(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? idOf(value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function idOf(record: Record<string, unknown>): string | undefined {
  const id = record['id'];
  return typeof id === 'string' && ID_PATTERN.test(id) ? id : undefined;
}

/** Parses and validates one client frame against its type's schema (see `frameParser`). */
export const parseClientFrame: (text: string) => ParsedFrame = frameParser<ClientMessage>(CLIENT_TYPES, validators, ID_PATTERN, { defaultDataFirst: false });
