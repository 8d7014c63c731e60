import { AppError, validationError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import { hasRole, type Role } from '../../../shared/roles.js';
import { ShortCodeTaken, type CallLink, type CallLinksRepository } from '../../repositories/call-links.js';
import type { CallsRepository } from '../../repositories/calls.js';
import type { User, UsersRepository } from '../../repositories/users.js';
import { isAvailableNow } from '../availability/schedule.js';
import { checkRate, type Rate, type RateBounds } from '../users/users-service.js';
import { newShortCode } from './short-code.js';

export interface Caller { userId: string; role: Role }

export interface NewLinkInput {
  title?: string;
  rate?: Rate;
  max_duration_sec?: number;
  expires_at?: string;
  single_use?: boolean;
}

/** Why a link can no longer be used; `active` when it can. */
export type LinkState = 'active' | 'deleted' | 'expired' | 'used';

/** The link's state at `now`; `used` says whether its single use was taken. */
export function linkState(link: CallLink, used: boolean, now: Date): LinkState {
  if (link.deleted_at) return 'deleted';
  if (link.expires_at && link.expires_at.getTime() <= now.getTime()) return 'expired';
  if (link.single_use && used) return 'used';
  return 'active';
}

/** The `gone` error of a link that exists but cannot be used; `details.reason` says why. */
export function goneError(state: Exclude<LinkState, 'active'>): AppError {
  const message = { deleted: 'This call link was deleted.', expired: 'This call link has expired.', used: 'This single-use call link was already used.' }[state];
  return new AppError('gone', { message, details: { reason: state } });
}

/** A link as its owner sees it; `uses` = calls made through it. */
export function linkView(link: CallLink, usage: { uses: number; used: boolean }, now: Date): Record<string, unknown> {
  return {
    id: link.id,
    short_code: link.short_code,
    title: link.title,
    rate: link.rate,
    max_duration_sec: link.max_duration_sec,
    expires_at: link.expires_at?.toISOString() ?? null,
    single_use: link.single_use,
    uses: usage.uses,
    status: linkState(link, usage.used, now),
    created_at: link.created_at.toISOString(),
  };
}

const RATE = { type: ['object', 'null'], properties: { amount: { type: 'integer' }, currency: { type: 'string' } } } as const;

/** JSON Schema of linkView's output. */
export const LINK_VIEW_SCHEMA = {
  type: 'object',
  required: ['id', 'short_code', 'title', 'rate', 'max_duration_sec', 'expires_at', 'single_use', 'uses', 'status', 'created_at'],
  properties: {
    id: { type: 'string' }, short_code: { type: 'string' }, title: { type: ['string', 'null'] }, rate: RATE,
    max_duration_sec: { type: ['integer', 'null'] }, expires_at: { type: ['string', 'null'], format: 'date-time' },
    single_use: { type: 'boolean' }, uses: { type: 'integer' }, status: { enum: ['active', 'deleted', 'expired', 'used'] },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const MAX_CODE_ATTEMPTS = 5;

/** Call links: creation with unique random codes, ownership, soft delete, public info. */
export class LinksService {
  constructor(
    private readonly links: CallLinksRepository,
    private readonly calls: CallsRepository,
    private readonly users: UsersRepository,
    private readonly options: { rates: RateBounds; maxDurationSec: number },
  ) {}

  async create(caller: Caller, input: NewLinkInput, now: Date): Promise<CallLink> {
    const host = await this.users.findById(caller.userId);
    if (!host) throw new AppError('not_found', { message: 'User not found.' });
    const rate = input.rate ? checkRate(input.rate, this.options.rates) : null;
    const problems: Record<string, string> = {};
    if (!rate && !host.rate) problems['rate'] = 'is required until you set your rate (PUT /v1/users/me/rate)';
    if (input.max_duration_sec !== undefined && input.max_duration_sec > this.options.maxDurationSec) {
      problems['max_duration_sec'] = `must be at most ${this.options.maxDurationSec}`;
    }
    const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= now.getTime()) problems['expires_at'] = 'must be in the future';
    if (Object.keys(problems).length > 0) throw validationError(problems);
    for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt++) {
      try {
        return await this.links.create({
          id: newId(), short_code: newShortCode(), host_id: host.id, title: input.title?.trim() || null, rate,
          max_duration_sec: input.max_duration_sec ?? null, expires_at: expiresAt, single_use: input.single_use ?? false,
          deleted_at: null, created_at: now, updated_at: now,
        });
      } catch (err) {
        if (!(err instanceof ShortCodeTaken)) throw err;
      }
    }
    throw new AppError('internal_error', { message: 'Could not allocate a short code.' });
  }

  /** The caller's live links, newest first, each with its usage. */
  async list(caller: Caller, skip: number, limit: number): Promise<{ items: Array<{ link: CallLink; uses: number; used: boolean }>; total: number }> {
    const { items, total } = await this.links.listByHost(caller.userId, skip, limit);
    const ids = items.map((l) => l.id);
    const [counts, used] = await Promise.all([this.calls.countByLinks(ids), this.links.usedOf(ids.filter((_, i) => items[i]!.single_use))]);
    return { items: items.map((link) => ({ link, uses: counts.get(link.id) ?? 0, used: used.has(link.id) })), total };
  }

  /** Soft-deletes the caller's link (an admin's: any link); someone else's or a deleted one is `not_found`. */
  async delete(caller: Caller, linkId: string, now: Date): Promise<void> {
    const deleted = await this.links.softDelete(linkId, hasRole(caller.role, 'admin') ? null : caller.userId, now);
    if (!deleted) throw new AppError('not_found', { message: 'Call link not found.' });
  }

  /** A usable link and its host; unknown → `not_found`, deleted/expired/used → `gone`. */
  async resolve(shortCode: string, now: Date): Promise<{ link: CallLink; host: User }> {
    const link = await this.links.findByShortCode(shortCode);
    if (!link) throw new AppError('not_found', { message: 'Call link not found.' });
    const used = link.single_use ? (await this.links.usedOf([link.id])).has(link.id) : false;
    const state = linkState(link, used, now);
    if (state !== 'active') throw goneError(state);
    const host = await this.users.findById(link.host_id);
    if (!host || host.role !== 'host') throw new AppError('gone', { message: 'This host no longer takes calls.', details: { reason: 'host_gone' } });
    return { link, host };
  }

  /** The public face of a link: nothing private about the host. */
  async info(shortCode: string, now: Date): Promise<Record<string, unknown>> {
    const { link, host } = await this.resolve(shortCode, now);
    return {
      short_code: link.short_code,
      title: link.title,
      host: { username: host.username ?? null, display_name: host.display_name, avatar_url: host.avatar_url ?? null },
      rate: link.rate ?? host.rate ?? null,
      max_duration_sec: link.max_duration_sec,
      single_use: link.single_use,
      expires_at: link.expires_at?.toISOString() ?? null,
      host_available: isAvailableNow(host, now),
    };
  }
}

/** JSON Schema of LinksService.info's output. */
export const LINK_INFO_SCHEMA = {
  type: 'object',
  required: ['short_code', 'title', 'host', 'rate', 'max_duration_sec', 'single_use', 'expires_at', 'host_available'],
  properties: {
    short_code: { type: 'string' }, title: { type: ['string', 'null'] },
    host: { type: 'object', properties: { username: { type: ['string', 'null'] }, display_name: { type: ['string', 'null'] }, avatar_url: { type: ['string', 'null'] } } },
    rate: RATE, max_duration_sec: { type: ['integer', 'null'] }, single_use: { type: 'boolean' },
    expires_at: { type: ['string', 'null'], format: 'date-time' }, host_available: { type: 'boolean' },
  },
} as const;
