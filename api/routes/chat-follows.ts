import { AppError } from '../../shared/errors/index.js';
import type { AppContext } from '../http/context.js';
import { ok, pageRequest, paginated, PAGINATION_QUERY_PROPERTIES } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import type { Role } from '../../shared/roles.js';
import { broadcastView, type BroadcastsService } from '../services/chat/broadcasts-service.js';

const envelope = (data: Record<string, unknown>) => ({ type: 'object', properties: { success: { const: true }, data } });
const FOLLOW_ITEM = { type: 'object', properties: { user_id: { type: 'string' }, since: { type: 'string', format: 'date-time' } } } as const;
const BROADCAST_VIEW = {
  type: 'object',
  properties: {
    id: { type: 'string' }, status: { enum: ['queued', 'running', 'done'] }, text: { type: 'string' }, total: { type: 'integer' }, sent: { type: 'integer' },
    skipped: { type: 'integer' }, created_at: { type: 'string', format: 'date-time' }, finished_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;
type FollowPage = Promise<{ items: Array<{ user_id: string; since: Date }>; total: number }>;
/** What the follow routes need of the follows store (api/repositories/follows.ts). */
export interface FollowsPort {
  follow(followerId: string, hostId: string, at: Date): Promise<void>;
  unfollow(followerId: string, hostId: string): Promise<void>;
  followers(hostId: string, skip: number, limit: number): FollowPage;
  following(followerId: string, skip: number, limit: number): FollowPage;
}
/** What they need of the users store: a followed account's role. */
export interface UserRoleLookup { findById(id: string): Promise<{ role: Role } | null> }

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Follow/unfollow hosts, the two follower lists, and host broadcasts with their status. */
export function chatFollowRoutes(deps: { follows: FollowsPort; broadcasts: BroadcastsService; users: UserRoleLookup; maxTextChars: number; now?: () => Date }): RouteSpec[] {
  const now = deps.now ?? (() => new Date());
  const me = (ctx: AppContext) => ctx.state.principal!.userId;
  const listQuery = { type: 'object', additionalProperties: false, properties: { ...PAGINATION_QUERY_PROPERTIES } } as const;
  const list = async (ctx: AppContext, load: (skip: number, limit: number) => Promise<{ items: Array<{ user_id: string; since: Date }>; total: number }>) => {
    const page = pageRequest(ctx.state.query as { page?: number; per_page?: number });
    const { items, total } = await load(page.skip, page.perPage);
    paginated(ctx, items.map((i) => ({ user_id: i.user_id, since: i.since.toISOString() })), page, total);
  };
  return defineRoutes([
    {
      method: 'POST', path: '/v1/chat/follows', operationId: 'followHost', summary: 'Follow a host (idempotent).', tags: ['chat'], auth: 'user',
      body: { type: 'object', additionalProperties: false, required: ['host_id'], properties: { host_id: { type: 'string', minLength: 1, maxLength: 64 } } },
      errors: ['not_found'],
      responses: { 200: { description: 'Following.', schema: envelope({ type: 'object', properties: { following: { const: true } } }) } },
      handler: async (ctx) => {
        const hostId = (ctx.state.body as { host_id: string }).host_id;
        const host = await deps.users.findById(hostId);
        if (!host || (host.role !== 'host' && host.role !== 'admin') || hostId === me(ctx)) throw new AppError('not_found', { message: 'Host not found.' });
        await deps.follows.follow(me(ctx), hostId, now());
        ok(ctx, { following: true });
      },
    },
    {
      method: 'DELETE', path: '/v1/chat/follows/:host_id', operationId: 'unfollowHost', summary: 'Unfollow a host (idempotent).', tags: ['chat'], auth: 'user',
      params: { type: 'object', required: ['host_id'], properties: { host_id: { type: 'string', minLength: 1, maxLength: 64 } } },
      responses: { 200: { description: 'Not following.', schema: envelope({ type: 'object', properties: { following: { const: false } } }) } },
      handler: async (ctx) => {
        await deps.follows.unfollow(me(ctx), String(ctx.state.params!['host_id']));
        ok(ctx, { following: false });
      },
    },
    {
      method: 'GET', path: '/v1/chat/following', operationId: 'listFollowing', summary: 'Hosts I follow, newest first.', tags: ['chat'], auth: 'user', query: listQuery,
      responses: { 200: { description: 'One page.', schema: { type: 'object', properties: { success: { const: true }, data: { type: 'array', items: FOLLOW_ITEM } } } } },
      handler: (ctx) => list(ctx, (skip, limit) => deps.follows.following(me(ctx), skip, limit)),
    },
    {
      method: 'GET', path: '/v1/chat/followers', operationId: 'listFollowers', summary: 'My followers (host), newest first.', tags: ['chat'], auth: 'host', query: listQuery,
      responses: { 200: { description: 'One page.', schema: { type: 'object', properties: { success: { const: true }, data: { type: 'array', items: FOLLOW_ITEM } } } } },
      handler: (ctx) => list(ctx, (skip, limit) => deps.follows.followers(me(ctx), skip, limit)),
    },
    {
      method: 'POST', path: '/v1/chat/broadcast', operationId: 'broadcast', summary: 'Send one message into each follower\'s conversation with me (background job; `X-Idempotency-Key` required).', tags: ['chat'], auth: 'host',
      body: { type: 'object', additionalProperties: false, required: ['text'], properties: { text: { type: 'string', minLength: 1, maxLength: deps.maxTextChars } } },
      errors: ['conflict'],
      responses: {
        202: { description: 'Accepted; poll `GET /v1/chat/broadcasts/:id`.', schema: envelope(BROADCAST_VIEW) },
        200: { description: 'The broadcast already accepted under this key.', schema: envelope(BROADCAST_VIEW) },
      },
      handler: async (ctx) => {
        const key = ctx.get('X-Idempotency-Key');
        if (!IDEMPOTENCY_KEY.test(key)) throw new AppError('validation_error', { message: 'X-Idempotency-Key is required.', details: { 'X-Idempotency-Key': 'must be 1-128 characters of [A-Za-z0-9_.:-]' } });
        const { broadcast, created } = await deps.broadcasts.start(me(ctx), key, (ctx.state.body as { text: string }).text, now());
        ctx.set('Location', `/v1/chat/broadcasts/${broadcast.id}`);
        ok(ctx, broadcastView(broadcast), created ? 202 : 200);
      },
    },
    {
      method: 'GET', path: '/v1/chat/broadcasts/:id', operationId: 'getBroadcast', summary: 'A broadcast\'s progress (its host only).', tags: ['chat'], auth: 'host',
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
      errors: ['not_found'],
      responses: { 200: { description: 'Status and counts.', schema: envelope(BROADCAST_VIEW) } },
      handler: async (ctx) => { ok(ctx, broadcastView(await deps.broadcasts.get(me(ctx), String(ctx.state.params!['id'])))); },
    },
  ]);
}
