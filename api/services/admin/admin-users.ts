import type { Logger } from 'pino';
import { AppError, validationError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import type { Role } from '../../../shared/roles.js';
import type { User, UsersRepository } from '../../repositories/users.js';
import type { PasswordHasher } from '../auth/passwords.js';
import { checkHandle, searchTermsOf } from '../users/handles.js';
import { checkRate, type RateBounds } from '../users/users-service.js';

/** Most users one `POST /v1/admin/users` may create. */
export const ADMIN_BULK_MAX = 500;
/** Passwords hashed at once (argon2 runs on the libuv pool; more would starve other requests). */
const HASH_PARALLELISM = 2;

/** One account an admin asks for; `username` and `rate` are required for role `host`. */
export interface AdminUserInput {
  email: string;
  password: string;
  role: Exclude<Role, 'guest'>;
  display_name?: string;
  username?: string;
  rate?: { amount: number; currency: string };
  available?: boolean;
}

/** What the admin gets back per account: never a password, hash or token. */
export interface AdminUserResult {
  email: string;
  status: 'created' | 'exists';
  id?: string;
  role?: Role;
  username?: string;
}

/**
 * Bulk account creation for operators (seeding hosts for load tests, staff accounts). Accounts are
 * created with verified email and an argon2id hash of the given password; an email or username
 * already taken is reported as `exists` and left untouched (so re-running a seed is harmless).
 */
export class AdminUsersService {
  constructor(private readonly deps: { users: UsersRepository; passwords: PasswordHasher; rates: RateBounds; log: Logger }) {}

  async createMany(inputs: AdminUserInput[], now: Date): Promise<AdminUserResult[]> {
    const problems: Record<string, string> = {};
    const prepared = inputs.map((input, i) => {
      const at = `users.${i}`;
      let username: string | undefined;
      if (input.username !== undefined) {
        const checked = checkHandle(input.username);
        if ('problem' in checked) problems[`${at}.username`] = checked.problem === 'reserved' ? 'is reserved' : 'must be 3-30 letters, digits or _, starting with a letter';
        else username = checked.handle;
      }
      let rate: User['rate'];
      if (input.rate) {
        try {
          rate = checkRate(input.rate, this.deps.rates, `${at}.rate`);
        } catch (err) {
          if (err instanceof AppError) Object.assign(problems, err.details ?? {});
          else throw err;
        }
      }
      if (input.role === 'host' && !username) problems[`${at}.username`] ??= 'is required for role host';
      return { input, username, rate };
    });
    const emails = new Set<string>();
    inputs.forEach((u, i) => {
      const email = u.email.toLowerCase();
      if (emails.has(email)) problems[`users.${i}.email`] = 'is repeated in this request';
      emails.add(email);
    });
    if (Object.keys(problems).length > 0) throw validationError(problems);
    const results: AdminUserResult[] = [];
    for (let i = 0; i < prepared.length; i += HASH_PARALLELISM) {
      results.push(...await Promise.all(prepared.slice(i, i + HASH_PARALLELISM).map((p) => this.createOne(p, now))));
    }
    const created = results.filter((r) => r.status === 'created').length;
    this.deps.log.info({ requested: inputs.length, created }, 'admin created users');
    return results;
  }

  private async createOne({ input, username, rate }: { input: AdminUserInput; username: string | undefined; rate: User['rate'] }, now: Date): Promise<AdminUserResult> {
    {
      const email = input.email.toLowerCase();
      if (await this.deps.users.findByEmail(email)) return { email, status: 'exists' };
      const display = input.display_name?.trim() || null;
      const user: User = {
        id: newId(), email, email_verified: true, password_hash: await this.deps.passwords.hash(input.password),
        display_name: display, role: input.role, created_at: now, updated_at: now,
        ...(username ? { username, search_terms: searchTermsOf(username, display) } : {}),
        ...(rate ? { rate } : {}),
        ...(input.available !== undefined ? { available: input.available } : {}),
      };
      try {
        await this.deps.users.create(user);
      } catch (err) {
        if (err instanceof AppError && err.code === 'conflict') return { email, status: 'exists' };
        throw err;
      }
      return { email, status: 'created', id: user.id, role: user.role, ...(username ? { username } : {}) };
    }
  }
}
