/** JSON Schema of a chat message (REST and WebSocket `message` frames). */
export const CHAT_MESSAGE_SCHEMA = {
  type: 'object',
  required: ['id', 'conversation_id', 'seq', 'sender_id', 'kind', 'text', 'image_id', 'client_id', 'created_at'],
  properties: {
    id: { type: 'string' },
    conversation_id: { type: 'string' },
    seq: { type: 'integer', minimum: 1 },
    sender_id: { type: 'string' },
    kind: { enum: ['text', 'image'] },
    text: { type: ['string', 'null'] },
    image_id: { type: ['string', 'null'] },
    client_id: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

/** JSON Schema of a conversation as its member sees it. */
export const CONVERSATION_VIEW_SCHEMA = {
  type: 'object',
  required: ['id', 'other', 'last_seq', 'last_message', 'unread_count', 'read_seq', 'last_activity_at', 'created_at'],
  properties: {
    id: { type: 'string' },
    other: {
      type: 'object', required: ['id', 'role'],
      properties: { id: { type: 'string' }, role: { type: 'string' }, display_name: { type: ['string', 'null'] }, username: { type: ['string', 'null'] }, avatar_url: { type: ['string', 'null'] } },
    },
    last_seq: { type: 'integer' },
    last_message: { oneOf: [CHAT_MESSAGE_SCHEMA, { type: 'null' }] },
    unread_count: { type: 'integer' },
    read_seq: { type: 'integer' },
    last_activity_at: { type: 'string', format: 'date-time' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;
