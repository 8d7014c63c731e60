import { randomBytes } from 'node:crypto';
import { UsersRepository, type User } from '../../../api/repositories/users.js';
import { newId } from '../../../shared/ids.js';
import type { Role } from '../../../shared/roles.js';
import { signToken } from '../../../shared/tokens/index.js';
import type { TestApi } from '../../helpers/api.js';

export interface Actor { user: User; token: string }

/** Signs an access token the way the auth tier does (audience `api`, 15 min). */
export async function accessToken(t: TestApi, subject: string, role: Role, email?: string): Promise<string> {
  const { token } = await signToken(t.keyRing, { role, ...(email ? { email } : {}) }, { issuer: t.config.auth.issuer, audience: 'api', subject, ttlSec: 900 });
  return token;
}

/** Inserts a user (role and fields as given) and returns it with an access token. */
export async function makeUser(t: TestApi, role: Role, fields: Partial<User> = {}): Promise<Actor> {
  const now = new Date();
  const tag = randomBytes(4).toString('hex');
  const user: User = {
    id: newId(), email: `u${tag}@example.com`, email_verified: role !== 'user', display_name: `User ${tag}`, role,
    created_at: now, updated_at: now, ...fields,
  };
  await new UsersRepository(t.db).create(user);
  return { user, token: await accessToken(t, user.id, role, user.email) };
}

/** A host ready to take calls: username, rate, toggle on, no schedule. */
export async function makeHost(t: TestApi, fields: Partial<User> = {}): Promise<Actor> {
  const tag = randomBytes(3).toString('hex');
  return makeUser(t, 'host', {
    username: `host_${tag}`, rate: { amount: 200, currency: 'USD' }, available: true, date_of_birth: '1990-01-01',
    search_terms: [`host_${tag}`], ...fields,
  });
}

/** A guest principal (`gs_…`, role guest) as the guest-session endpoint would mint it. */
export async function makeGuest(t: TestApi): Promise<{ id: string; token: string }> {
  const id = `gs_${randomBytes(8).toString('hex')}`;
  return { id, token: await accessToken(t, id, 'guest') };
}

export interface Reply { status: number; body: any; headers: Headers }

/** One JSON request against the test API. */
export async function call(t: TestApi, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers: {
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try { body = text ? JSON.parse(text) : null; } catch { /* non-JSON body */ }
  return { status: res.status, body, headers: res.headers };
}
