import { AppError } from '../../shared/errors/index.js';
import { ok } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import type { UsersRepository } from '../repositories/users.js';
import { SELF_VIEW_SCHEMA, selfView } from '../services/user-view.js';

/** `/v1/users/*` routes. */
export function userRoutes(users: UsersRepository): RouteSpec[] {
  return defineRoutes([
    {
      method: 'GET', path: '/v1/users/me', operationId: 'getMe', summary: 'Get own profile.', tags: ['users'], auth: 'user',
      responses: { 200: { description: 'The caller\'s profile.', schema: { type: 'object', properties: { success: { const: true }, data: SELF_VIEW_SCHEMA } } } },
      handler: async (ctx) => {
        const user = await users.findById(ctx.state.principal!.userId);
        if (!user) throw new AppError('not_found', { message: 'User not found.' });
        ok(ctx, selfView(user));
      },
    },
  ]);
}
