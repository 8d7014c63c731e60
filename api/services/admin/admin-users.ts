import type { Logger } from 'pino';
import { AppError, validationError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import { hasRole, type Role } from '../../../shared/roles.js';
import type { User, UsersRepository } from '../../repositories/users.js';
import type { PasswordHasher } from '../auth/passwords.js';
import { checkHandle, searchTermsOf } from '../users/handles.js';
import { checkRate, type RateBounds } from '../users/users-service.js';

/** Most users one `POST /v1/admin/users` may create. */
export const ADMIN_BULK_MAX = 500;
/** Passwords hashed at once (argon2 runs on the libuv pool; more would starve other requests). */
const HASH_PARALLELISM = 2;

/** One account an admin asks for; `username` is required for role `host`, `rate` and `available` are for hosts (and admins) only. */
export interface AdminUserInput {
  email: string;
  password: string;
  role: Exclude<Role, 'guest'>;
  display_name?: string;
  username?: string;
  rate?: { amount: number; currency: string };
  available?: boolean;
}

/** Per-account outcome: `exists` (the email is taken), `username_taken` (another account holds the username). */
export type AdminUserStatus = 'created' | 'exists' | 'username_taken';
export const ADMIN_USER_STATUSES: readonly AdminUserStatus[] = ['created', 'exists', 'username_taken'];

/** What the admin gets back per account: never a password, hash or token. */
export interface AdminUserResult {
  email: string;
  status: AdminUserStatus;
  id?: string;
  role?: Role;
  username?: string;
}

interface Prepared {
  input: AdminUserInput;
  email: string;
  username: string | undefined;
  rate: User['rate'];
}

/**
 * Bulk account creation for operators (seeding hosts for load tests, staff accounts). The whole
 * request is validated first (nothing is created when any entry is invalid); accounts are then
 * created with a verified email and an argon2id hash of the given password. An email already taken
 * is reported as `exists` and that account is left untouched (so re-running a seed is harmless);
 * a username held by another account is reported as `username_taken` and nothing is created.
 */
export class AdminUsersService {
  constructor(private readonly deps: { users: UsersRepository; passwords: PasswordHasher; rates: RateBounds; log: Logger }) {}

  async createMany(inputs: AdminUserInput[], now: Date): Promise<AdminUserResult[]> {
    const prepared = this.prepare(inputs);
    const results: AdminUserResult[] = [];
    for (let i = 0; i < prepared.length; i += HASH_PARALLELISM) {
      results.push(...await Promise.all(prepared.slice(i, i + HASH_PARALLELISM).map((p) => this.createOne(p, now))));
    }
    const created = results.filter((r) => r.status === 'created').length;
    this.deps.log.info({ requested: inputs.length, created }, 'admin created users');
    return results;
  }

  /** Checks what the schema cannot (handles, rate bounds, role-only fields, repeats); throws one `validation_error` listing every problem. */
  private prepare(inputs: AdminUserInput[]): Prepared[] {
    const problems: Record<string, string> = {};
    const emails = new Set<string>();
    const usernames = new Set<string>();
    const prepared = inputs.map((input, i): Prepared => {
      const at = `users.${i}`;
      const email = input.email.toLowerCase();
      if (emails.has(email)) problems[`${at}.email`] = 'is repeated in this request';
      emails.add(email);
      let username: string | undefined;
      if (input.username !== undefined) {
        const checked = checkHandle(input.username);
        if ('problem' in checked) problems[`${at}.username`] = checked.problem === 'reserved' ? 'is reserved' : 'must be 3-30 letters, digits or _, starting with a letter';
        else if (usernames.has(checked.handle)) problems[`${at}.username`] = 'is repeated in this request';
        else username = checked.handle;
        if (username) usernames.add(username);
      }
      if (input.role === 'host' && input.username === undefined) problems[`${at}.username`] = 'is required for role host';
      const hostLevel = hasRole(input.role, 'host');
      if (!hostLevel && input.rate !== undefined) problems[`${at}.rate`] = 'is only for roles host and admin';
      if (!hostLevel && input.available !== undefined) problems[`${at}.available`] = 'is only for roles host and admin';
      let rate: User['rate'];
      if (hostLevel && input.rate) {
        try {
          rate = checkRate(input.rate, this.deps.rates, `${at}.rate`);
        } catch (err) {
          if (err instanceof AppError) Object.assign(problems, err.details ?? {});
          else throw err;
        }
      }
      return { input, email, username, rate };
    });
    if (Object.keys(problems).length > 0) throw validationError(problems);
    return prepared;
  }

  private async createOne({ input, email, username, rate }: Prepared, now: Date): Promise<AdminUserResult> {
    const taken = async (): Promise<AdminUserResult | undefined> => {
      if (await this.deps.users.findByEmail(email)) return { email, status: 'exists' };
      if (username && await this.deps.users.findByUsername(username)) return { email, status: 'username_taken', username };
      return undefined;
    };
    const before = await taken();
    if (before) return before;
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
      if (err instanceof AppError && err.code === 'conflict') return await taken() ?? { email, status: 'exists' };
      throw err;
    }
    return { email, status: 'created', id: user.id, role: user.role, ...(username ? { username } : {}) };
  }
}
