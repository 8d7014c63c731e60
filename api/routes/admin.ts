import { ok } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import { ADMIN_BULK_MAX, ADMIN_USER_STATUSES, type AdminUserInput, type AdminUsersService } from '../services/admin/admin-users.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../services/auth/index.js';

const USER_INPUT = {
  type: 'object', additionalProperties: false, required: ['email', 'password', 'role'],
  properties: {
    email: { type: 'string', format: 'email', maxLength: 254 },
    password: { type: 'string', minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH },
    role: { enum: ['user', 'verified_user', 'host', 'admin'] },
    display_name: { type: 'string', maxLength: 80 },
    username: { type: 'string', maxLength: 30, description: 'Required for role `host`; 3-30 letters, digits or `_`, starting with a letter; unique.' },
    rate: {
      type: 'object', additionalProperties: false, required: ['amount', 'currency'],
      properties: { amount: { type: 'integer', minimum: 0 }, currency: { type: 'string', pattern: '^[A-Za-z]{3}$' } },
      description: 'Per-minute price in minor units, within the configured bounds (`RATE_MIN_MINOR`, `RATE_MAX_MINOR`, `RATE_CURRENCIES`). Roles `host` and `admin` only.',
    },
    available: { type: 'boolean', description: 'The availability toggle. Roles `host` and `admin` only.' },
  },
} as const;

const RESULT = {
  type: 'object', required: ['email', 'status'],
  properties: {
    email: { type: 'string', description: 'Lower-cased.' },
    status: { enum: [...ADMIN_USER_STATUSES], description: '`exists`: the email is taken and that account was left untouched; `username_taken`: another account holds the username, nothing was created.' },
    id: { type: 'string' },
    role: { type: 'string' }, username: { type: 'string' },
  },
} as const;

/** `/v1/admin/*`: operator endpoints, role `admin` only (create the first admin with `vidivo create-admin`). */
export function adminRoutes(deps: { users: AdminUsersService; now?: () => Date }): RouteSpec[] {
  const now = deps.now ?? (() => new Date());
  return defineRoutes([
    {
      method: 'POST', path: '/v1/admin/users', operationId: 'adminCreateUsers', tags: ['admin'], auth: 'admin',
      summary: `Create up to ${ADMIN_BULK_MAX} accounts with a verified email, a role and a profile (e.g. load-test hosts). Nothing is created when any entry is invalid; a taken email is reported as \`exists\` (that account is left untouched), a username held by another account as \`username_taken\`.`,
      body: {
        type: 'object', additionalProperties: false, required: ['users'],
        properties: { users: { type: 'array', minItems: 1, maxItems: ADMIN_BULK_MAX, items: USER_INPUT } },
      },
      responses: { 201: { description: 'One result per requested account, in order.', schema: { type: 'object', properties: { success: { const: true }, data: { type: 'object', required: ['users'], properties: { users: { type: 'array', items: RESULT } } } } } } },
      handler: async (ctx) => {
        const { users } = ctx.state.body as { users: AdminUserInput[] };
        ok(ctx, { users: await deps.users.createMany(users, now()) }, 201);
      },
    },
  ]);
}
