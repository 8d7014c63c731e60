import type { AppContext } from '../http/context.js';
import { ok, pageRequest, paginated, PAGINATION_QUERY_PROPERTIES } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import { LINK_INFO_SCHEMA, LINK_VIEW_SCHEMA, linkView, type Caller, type LinksService, type NewLinkInput } from '../services/links/links-service.js';

const envelope = (data: Record<string, unknown>) => ({ type: 'object', properties: { success: { const: true }, data } });

function caller(ctx: AppContext): Caller {
  const p = ctx.state.principal!;
  return { userId: p.userId, role: p.role };
}

/** `/v1/calls/links*`; registered before `/v1/calls/:id` so `links` is never taken for an id. */
export function linkRoutes(deps: { links: LinksService; now?: () => Date }): RouteSpec[] {
  const { links } = deps;
  const now = deps.now ?? (() => new Date());
  return defineRoutes([
    {
      method: 'POST', path: '/v1/calls/links', operationId: 'createCallLink', summary: 'Create a call link.', tags: ['calls'], auth: 'host',
      body: {
        type: 'object', additionalProperties: false,
        properties: {
          title: { type: 'string', maxLength: 100 },
          rate: {
            type: 'object', additionalProperties: false, required: ['amount', 'currency'],
            properties: { amount: { type: 'integer', minimum: 0 }, currency: { type: 'string', pattern: '^[A-Za-z]{3}$' } },
            description: 'Per-minute price override for this link (minor units); default: the host\'s rate at join time.',
          },
          max_duration_sec: { type: 'integer', minimum: 60, description: 'Longest call on this link; at most CALL_MAX_DURATION_SEC.' },
          expires_at: { type: 'string', format: 'date-time' },
          single_use: { type: 'boolean', default: false },
        },
      },
      responses: { 201: { description: 'The new link.', schema: envelope(LINK_VIEW_SCHEMA) } },
      handler: async (ctx) => {
        const at = now();
        ok(ctx, linkView(await links.create(caller(ctx), ctx.state.body as NewLinkInput, at), { uses: 0, used: false }, at), 201);
      },
    },
    {
      method: 'GET', path: '/v1/calls/links', operationId: 'listCallLinks', summary: 'List own call links (not deleted), newest first.', tags: ['calls'], auth: 'host',
      query: { type: 'object', additionalProperties: false, properties: { ...PAGINATION_QUERY_PROPERTIES } },
      responses: { 200: { description: 'One page of links.', schema: { type: 'object', properties: { success: { const: true }, data: { type: 'array', items: LINK_VIEW_SCHEMA } } } } },
      handler: async (ctx) => {
        const page = pageRequest(ctx.state.query as { page?: number; per_page?: number });
        const { items, total } = await links.list(caller(ctx), page.skip, page.perPage);
        const at = now();
        paginated(ctx, items.map(({ link, ...usage }) => linkView(link, usage, at)), page, total);
      },
    },
    {
      method: 'DELETE', path: '/v1/calls/links/:id', operationId: 'deleteCallLink', summary: 'Delete own call link (soft delete; joins then get 410).', tags: ['calls'], auth: 'host',
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
      errors: ['not_found'],
      responses: { 200: { description: 'Deleted.', schema: envelope({ type: 'object', properties: { id: { type: 'string' }, deleted: { const: true } } }) } },
      handler: async (ctx) => {
        const id = String(ctx.state.params!['id']);
        await links.delete(caller(ctx), id, now());
        ok(ctx, { id, deleted: true });
      },
    },
    {
      method: 'GET', path: '/v1/calls/links/:shortCode/info', operationId: 'callLinkInfo', summary: 'Public information about a call link.', tags: ['calls'], auth: 'none',
      params: { type: 'object', required: ['shortCode'], properties: { shortCode: { type: 'string', minLength: 1, maxLength: 64 } } },
      errors: ['not_found', 'gone'],
      responses: { 200: { description: 'What a guest sees before joining.', schema: envelope(LINK_INFO_SCHEMA) } },
      handler: async (ctx) => { ok(ctx, await links.info(String(ctx.state.params!['shortCode']), now())); },
    },
  ]);
}
