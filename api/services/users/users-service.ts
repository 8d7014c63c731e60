import { AppError, validationError } from '../../../shared/errors/index.js';
import type { User, UsersRepository } from '../../repositories/users.js';
import { canonicalTimeZone, isAvailableNow, validateSchedule, type WeeklyInterval } from '../availability/schedule.js';
import { checkHandle, searchTermsOf, type HandleProblem } from './handles.js';

export interface RateBounds {
  minMinor: number;
  maxMinor: number;
  currencies: readonly string[];
}

export interface ProfilePatch {
  display_name?: string | null;
  bio?: string | null;
  username?: string;
  locale?: string | null;
  time_zone?: string;
}

export interface Rate { amount: number; currency: string }

const MINIMUM_HOST_AGE = 18;

/** True when someone born on `dateOfBirth` (YYYY-MM-DD) is at least `years` old on `now`'s UTC date. */
export function isAtLeast(dateOfBirth: string, years: number, now: Date): boolean {
  const [y, m, d] = dateOfBirth.split('-');
  return `${String(Number(y) + years).padStart(4, '0')}-${m}-${d}` <= now.toISOString().slice(0, 10);
}

/** Checks a rate against the configured bounds; throws `validation_error` naming the field. */
export function checkRate(rate: Rate, bounds: RateBounds, field = 'rate'): Rate {
  const currency = rate.currency.toUpperCase();
  if (!bounds.currencies.includes(currency)) throw validationError({ [`${field}.currency`]: `must be one of: ${bounds.currencies.join(', ')}` });
  if (rate.amount < bounds.minMinor || rate.amount > bounds.maxMinor) {
    throw validationError({ [`${field}.amount`]: `must be between ${bounds.minMinor} and ${bounds.maxMinor} minor units` });
  }
  return { amount: rate.amount, currency };
}

function canonicalLocale(locale: string): string | null {
  try {
    const [canonical] = Intl.getCanonicalLocales(locale);
    return canonical ?? null;
  } catch {
    return null;
  }
}

/** Profile, host onboarding and host settings. Throws AppError only. */
export class UsersService {
  constructor(private readonly users: UsersRepository, private readonly rates: RateBounds) {}

  private async mustFind(userId: string): Promise<User> {
    const user = await this.users.findById(userId);
    if (!user) throw new AppError('not_found', { message: 'User not found.' });
    return user;
  }

  async get(userId: string): Promise<User> {
    return this.mustFind(userId);
  }

  /** Applies a profile patch; `null` clears a clearable field; a taken username is `conflict`. */
  async updateProfile(userId: string, patch: ProfilePatch): Promise<User> {
    const current = await this.mustFind(userId);
    const set: Partial<User> = {};
    const unset: Array<keyof User> = [];
    const problems: Record<string, string> = {};
    if (patch.display_name !== undefined) set.display_name = patch.display_name === null ? null : patch.display_name.trim() || null;
    if (patch.bio !== undefined) { if (patch.bio === null) unset.push('bio'); else set.bio = patch.bio; }
    if (patch.locale !== undefined) {
      if (patch.locale === null) unset.push('locale');
      else {
        const locale = canonicalLocale(patch.locale);
        if (locale) set.locale = locale; else problems['locale'] = 'must be a BCP 47 language tag';
      }
    }
    if (patch.time_zone !== undefined) {
      const zone = canonicalTimeZone(patch.time_zone);
      if (zone) set.time_zone = zone; else problems['time_zone'] = 'must be an IANA time zone name';
    }
    if (patch.username !== undefined) {
      const checked = checkHandle(patch.username);
      if ('problem' in checked) problems['username'] = checked.problem === 'reserved' ? 'is reserved' : 'must be 3-30 letters, digits or _ and start with a letter';
      else set.username = checked.handle;
    }
    if (Object.keys(problems).length > 0) throw validationError(problems);
    if (set.username !== undefined || set.display_name !== undefined) {
      set.search_terms = searchTermsOf(set.username ?? current.username, set.display_name !== undefined ? set.display_name : current.display_name);
    }
    const updated = await this.usernameConflict(() => this.users.update(userId, set, unset));
    if (!updated) throw new AppError('not_found', { message: 'User not found.' });
    return updated;
  }

  /** Runs a write that may set a username; a unique-index violation becomes `conflict`. */
  private async usernameConflict(write: () => Promise<User | null>): Promise<User | null> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof AppError && err.code === 'conflict') {
        throw new AppError('conflict', { message: 'This username is taken.', details: { username: 'is taken' }, cause: err });
      }
      throw err;
    }
  }

  /**
   * `verified_user` → `host` once an 18+ date of birth and a unique username are on file
   * (given here or set before). The role change shows in the next access token.
   */
  async becomeHost(userId: string, input: { username?: string; date_of_birth?: string }, now: Date): Promise<User> {
    const user = await this.mustFind(userId);
    if (user.role === 'host' || user.role === 'admin') throw new AppError('conflict', { message: 'Already a host.', details: { reason: 'already_host' } });
    if (user.role !== 'verified_user') throw new AppError('forbidden', { message: 'Verify your email address first.' });
    const problems: Record<string, string> = {};
    const dob = input.date_of_birth ?? user.date_of_birth;
    if (!dob) problems['date_of_birth'] = 'is required';
    else if (!isAtLeast(dob, MINIMUM_HOST_AGE, now)) problems['date_of_birth'] = `must show an age of at least ${MINIMUM_HOST_AGE}`;
    else if (isAtLeast(dob, 130, now)) problems['date_of_birth'] = 'is not a plausible date of birth';
    let username = user.username;
    if (input.username !== undefined) {
      const checked = checkHandle(input.username);
      if ('problem' in checked) problems['username'] = checked.problem === 'reserved' ? 'is reserved' : 'must be 3-30 letters, digits or _ and start with a letter';
      else username = checked.handle;
    }
    if (!username && !problems['username']) problems['username'] = 'is required';
    if (Object.keys(problems).length > 0) throw validationError(problems);
    const updated = await this.usernameConflict(() => this.users.update(userId, {
      role: 'host', date_of_birth: dob!, username: username!, search_terms: searchTermsOf(username, user.display_name),
    }));
    if (!updated) throw new AppError('not_found', { message: 'User not found.' });
    return updated;
  }

  async setRate(userId: string, rate: Rate): Promise<User> {
    const checked = checkRate(rate, this.rates);
    const updated = await this.users.update(userId, { rate: checked });
    if (!updated) throw new AppError('not_found', { message: 'User not found.' });
    return updated;
  }

  /** Sets the availability toggle, or flips it when `available` is omitted. */
  async toggleAvailable(userId: string, available: boolean | undefined, now: Date): Promise<{ available: boolean; available_now: boolean }> {
    const user = await this.mustFind(userId);
    const next = available ?? !(user.available ?? false);
    const updated = await this.users.update(userId, { available: next });
    if (!updated) throw new AppError('not_found', { message: 'User not found.' });
    return { available: next, available_now: isAvailableNow(updated, now) };
  }

  /** Replaces the weekly schedule (and the time zone when given) after validating it. */
  async setAvailability(userId: string, input: { time_zone?: string; intervals: WeeklyInterval[] }): Promise<User> {
    const problems = validateSchedule(input.intervals);
    let zone: string | null | undefined;
    if (input.time_zone !== undefined) {
      zone = canonicalTimeZone(input.time_zone);
      if (!zone) problems['time_zone'] = 'must be an IANA time zone name';
    }
    if (Object.keys(problems).length > 0) throw validationError(problems);
    const intervals = input.intervals.map((i) => ({ day: i.day, start: i.start, end: i.end, ...(i.overnight ? { overnight: true } : {}) }));
    const updated = await this.users.update(userId, { availability: intervals, ...(zone ? { time_zone: zone } : {}) });
    if (!updated) throw new AppError('not_found', { message: 'User not found.' });
    return updated;
  }

  /** A host by username; anyone else (or no one) is `not_found`. */
  async publicHost(username: string): Promise<User> {
    const user = /^[A-Za-z0-9_]{1,64}$/.test(username) ? await this.users.findByUsername(username) : null;
    if (!user || user.role !== 'host') throw new AppError('not_found', { message: 'Host not found.' });
    return user;
  }

  /** Whether `raw` could be claimed as a username now (spec 003). */
  async handleAvailability(raw: string): Promise<{ handle: string; available: boolean; reason: HandleProblem | 'taken' | null }> {
    const checked = checkHandle(raw);
    if ('problem' in checked) return { handle: raw, available: false, reason: checked.problem };
    const taken = await this.users.findByUsername(checked.handle);
    return { handle: checked.handle, available: !taken, reason: taken ? 'taken' : null };
  }

  /** Prefix search over hosts' usernames and display-name words. */
  async searchHosts(query: string, skip: number, limit: number): Promise<{ items: User[]; total: number }> {
    const prefix = query.normalize('NFKC').toLowerCase().trim();
    return this.users.searchHosts(prefix, skip, limit);
  }
}
