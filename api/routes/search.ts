import { pageRequest, paginated, PAGINATION_QUERY_PROPERTIES } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import { PUBLIC_HOST_SCHEMA, publicHostView } from '../services/users/profile-view.js';
import type { UsersService } from '../services/users/users-service.js';

/** `/v1/search/*` (spec 003's user search, over hosts only). */
export function searchRoutes(deps: { users: UsersService; now?: () => Date }): RouteSpec[] {
  const { users } = deps;
  const now = deps.now ?? (() => new Date());
  return defineRoutes([
    {
      method: 'GET', path: '/v1/search/users', operationId: 'searchUsers', summary: 'Search hosts by username or display-name prefix.', tags: ['users'], auth: 'none',
      query: {
        type: 'object', additionalProperties: false, required: ['q'],
        properties: { q: { type: 'string', minLength: 1, maxLength: 80 }, ...PAGINATION_QUERY_PROPERTIES },
      },
      responses: { 200: { description: 'Matching hosts.', schema: { type: 'object', properties: { success: { const: true }, data: { type: 'array', items: PUBLIC_HOST_SCHEMA } } } } },
      handler: async (ctx) => {
        const query = ctx.state.query as { q: string; page?: number; per_page?: number };
        const page = pageRequest(query);
        const { items, total } = await users.searchHosts(query.q, page.skip, page.perPage);
        const at = now();
        paginated(ctx, items.map((u) => publicHostView(u, at)), page, total);
      },
    },
  ]);
}
