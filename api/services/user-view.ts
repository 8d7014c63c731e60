import type { User } from '../repositories/users.js';

/** The caller's own profile as spec 004 shows it (`user` in auth responses, `GET /v1/users/me`). */
export function selfView(user: User): Record<string, unknown> {
  return {
    id: user.id,
    email: user.email,
    display_name: user.display_name,
    role: user.role,
    email_verified: user.email_verified,
    created_at: user.created_at.toISOString(),
  };
}

/** JSON Schema of selfView's output (for OpenAPI). */
export const SELF_VIEW_SCHEMA = {
  type: 'object',
  required: ['id', 'email', 'display_name', 'role', 'email_verified', 'created_at'],
  properties: {
    id: { type: 'string' },
    email: { type: 'string', format: 'email' },
    display_name: { type: ['string', 'null'] },
    role: { enum: ['guest', 'user', 'verified_user', 'host', 'admin'] },
    email_verified: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;
