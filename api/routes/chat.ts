import type { ChatCore } from '../../shared/chat/chat-core.js';
import type { AppContext } from '../http/context.js';
import { ok, pageRequest, paginated, PAGINATION_QUERY_PROPERTIES } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import type { ChatCaller, ConversationsService } from '../services/chat/conversations-service.js';
import { CHAT_MESSAGE_SCHEMA, CONVERSATION_VIEW_SCHEMA } from '../services/chat/views.js';

const envelope = (data: Record<string, unknown>) => ({ type: 'object', properties: { success: { const: true }, data } });
const list = (items: Record<string, unknown>) => ({ type: 'object', properties: { success: { const: true }, data: { type: 'array', items } } });
const ULID = { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' } as const;
const USER_ID = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;
const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
/** Client-chosen message id: a retried send with the same one stores nothing new. */
export const CLIENT_ID = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' } as const;

function caller(ctx: AppContext): ChatCaller {
  const p = ctx.state.principal!;
  return { userId: p.userId, role: p.role };
}

/** `/v1/chat/*` conversations, messages, read pointers, unread counts and blocks. */
export function chatRoutes(deps: { conversations: ConversationsService; core: ChatCore; maxTextChars: number; now?: () => Date }): RouteSpec[] {
  const { conversations, core } = deps;
  const now = deps.now ?? (() => new Date());
  const id = (ctx: AppContext) => String(ctx.state.params!['id']);
  return defineRoutes([
    {
      method: 'GET', path: '/v1/chat/conversations', operationId: 'listConversations', summary: 'My conversations, newest activity first, each with the other party, last message and unread count.', tags: ['chat'], auth: 'guest',
      query: { type: 'object', additionalProperties: false, properties: { ...PAGINATION_QUERY_PROPERTIES } },
      responses: { 200: { description: 'One page of conversations.', schema: list(CONVERSATION_VIEW_SCHEMA) } },
      handler: async (ctx) => {
        const page = pageRequest(ctx.state.query as { page?: number; per_page?: number });
        const { items, total } = await conversations.list(caller(ctx), page.skip, page.perPage);
        paginated(ctx, items, page, total);
      },
    },
    {
      method: 'POST', path: '/v1/chat/conversations', operationId: 'createConversation', summary: 'Open the conversation with a user (idempotent per pair: 201 when created, 200 when it existed).', tags: ['chat'], auth: 'guest',
      body: { type: 'object', additionalProperties: false, required: ['user_id'], properties: { user_id: USER_ID } },
      errors: ['not_found', 'forbidden'],
      responses: { 201: { description: 'Created.', schema: envelope(CONVERSATION_VIEW_SCHEMA) }, 200: { description: 'The existing conversation.', schema: envelope(CONVERSATION_VIEW_SCHEMA) } },
      handler: async (ctx) => {
        const { view, created } = await conversations.open(caller(ctx), (ctx.state.body as { user_id: string }).user_id, now());
        ok(ctx, view, created ? 201 : 200);
      },
    },
    {
      method: 'GET', path: '/v1/chat/unread', operationId: 'unreadCounts', summary: 'Unread message counts: the total and per conversation (the 100 most recently active).', tags: ['chat'], auth: 'guest',
      responses: { 200: { description: 'Counts.', schema: envelope({ type: 'object', properties: { total: { type: 'integer' }, conversations: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, unread_count: { type: 'integer' } } } } } }) } },
      handler: async (ctx) => {
        const { items } = await conversations.list(caller(ctx), 0, 100);
        const counts = items.filter((c) => c.unread_count > 0).map((c) => ({ id: c.id, unread_count: c.unread_count }));
        ok(ctx, { total: counts.reduce((n, c) => n + c.unread_count, 0), conversations: counts });
      },
    },
    {
      method: 'GET', path: '/v1/chat/conversations/:id', operationId: 'getConversation', summary: 'One conversation of mine.', tags: ['chat'], auth: 'guest',
      params: ID_PARAMS, errors: ['not_found'],
      responses: { 200: { description: 'The conversation.', schema: envelope(CONVERSATION_VIEW_SCHEMA) } },
      handler: async (ctx) => { ok(ctx, await conversations.get(caller(ctx), id(ctx))); },
    },
    {
      method: 'DELETE', path: '/v1/chat/conversations/:id', operationId: 'deleteConversationForMe', summary: 'Delete the conversation for me: its history so far is hidden from me; a new message shows it again.', tags: ['chat'], auth: 'guest',
      params: ID_PARAMS, errors: ['not_found'],
      responses: { 200: { description: 'Deleted for the caller.', schema: envelope({ type: 'object', properties: { deleted: { const: true } } }) } },
      handler: async (ctx) => {
        await conversations.clear(caller(ctx), id(ctx));
        ok(ctx, { deleted: true });
      },
    },
    {
      method: 'GET', path: '/v1/chat/conversations/:id/messages', operationId: 'listMessages', summary: 'Message history: newest first (and with `before`), oldest first with `after`.', tags: ['chat'], auth: 'guest',
      params: ID_PARAMS,
      query: {
        type: 'object', additionalProperties: false,
        properties: {
          before: { ...ULID, description: 'Only messages older than this message id.' },
          after: { ...ULID, description: 'Only messages newer than this message id (ascending order).' },
          ...PAGINATION_QUERY_PROPERTIES,
        },
      },
      errors: ['not_found'],
      responses: { 200: { description: 'One page of messages.', schema: list(CHAT_MESSAGE_SCHEMA) } },
      handler: async (ctx) => {
        const query = ctx.state.query as { before?: string; after?: string; page?: number; per_page?: number };
        const page = pageRequest(query);
        const { items, total } = await conversations.messages(caller(ctx), id(ctx), {
          ...(query.before ? { before: query.before } : {}), ...(query.after ? { after: query.after } : {}), skip: page.skip, limit: page.perPage,
        });
        paginated(ctx, items, page, total);
      },
    },
    {
      method: 'POST', path: '/v1/chat/conversations/:id/messages', operationId: 'sendMessage', summary: 'Send a message (text and/or an uploaded image); a repeated `client_id` returns the stored message (200) instead of a new one (201).', tags: ['chat'], auth: 'guest',
      params: ID_PARAMS,
      body: {
        type: 'object', additionalProperties: false,
        properties: { text: { type: 'string', maxLength: deps.maxTextChars * 2 }, image_id: ULID, client_id: CLIENT_ID },
      },
      errors: ['not_found', 'forbidden'],
      responses: { 201: { description: 'Stored.', schema: envelope(CHAT_MESSAGE_SCHEMA) }, 200: { description: 'Already stored under this client_id.', schema: envelope(CHAT_MESSAGE_SCHEMA) } },
      handler: async (ctx) => {
        const body = ctx.state.body as { text?: string; image_id?: string; client_id?: string };
        const { message, duplicate } = await core.send({
          conversationId: id(ctx), senderId: caller(ctx).userId, at: now(),
          ...(body.text !== undefined ? { text: body.text } : {}), ...(body.image_id ? { imageId: body.image_id } : {}), ...(body.client_id ? { clientId: body.client_id } : {}),
        });
        ok(ctx, message, duplicate ? 200 : 201);
      },
    },
    {
      method: 'POST', path: '/v1/chat/conversations/:id/read', operationId: 'markRead', summary: 'Move my read pointer forward to `seq` (never back).', tags: ['chat'], auth: 'guest',
      params: ID_PARAMS,
      body: { type: 'object', additionalProperties: false, required: ['seq'], properties: { seq: { type: 'integer', minimum: 0, maximum: 2 ** 50 } } },
      errors: ['not_found'],
      responses: { 200: { description: 'The read pointer.', schema: envelope({ type: 'object', properties: { read_seq: { type: 'integer' } } }) } },
      handler: async (ctx) => { ok(ctx, { read_seq: await core.markRead(id(ctx), caller(ctx).userId, (ctx.state.body as { seq: number }).seq) }); },
    },
    {
      method: 'GET', path: '/v1/chat/blocks', operationId: 'listBlocks', summary: 'Users I have blocked.', tags: ['chat'], auth: 'guest',
      responses: { 200: { description: 'Blocked user ids, newest first.', schema: envelope({ type: 'object', properties: { user_ids: { type: 'array', items: { type: 'string' } } } }) } },
      handler: async (ctx) => { ok(ctx, { user_ids: await conversations.blocked(caller(ctx)) }); },
    },
    {
      method: 'POST', path: '/v1/chat/blocks', operationId: 'blockUser', summary: 'Block a user (idempotent): no new conversation or message either way.', tags: ['chat'], auth: 'guest',
      body: { type: 'object', additionalProperties: false, required: ['user_id'], properties: { user_id: USER_ID } },
      responses: { 200: { description: 'Blocked.', schema: envelope({ type: 'object', properties: { blocked: { const: true } } }) } },
      handler: async (ctx) => {
        await conversations.block(caller(ctx), (ctx.state.body as { user_id: string }).user_id, now());
        ok(ctx, { blocked: true });
      },
    },
    {
      method: 'DELETE', path: '/v1/chat/blocks/:user_id', operationId: 'unblockUser', summary: 'Unblock a user (idempotent).', tags: ['chat'], auth: 'guest',
      params: { type: 'object', required: ['user_id'], properties: { user_id: USER_ID } },
      responses: { 200: { description: 'Unblocked.', schema: envelope({ type: 'object', properties: { blocked: { const: false } } }) } },
      handler: async (ctx) => {
        await conversations.unblock(caller(ctx), String(ctx.state.params!['user_id']));
        ok(ctx, { blocked: false });
      },
    },
  ]);
}
