import type { User } from '../../repositories/users.js';
import { isAvailableNow } from '../availability/schedule.js';
import { SELF_VIEW_SCHEMA, selfView } from '../user-view.js';

const RATE_SCHEMA = { type: ['object', 'null'], properties: { amount: { type: 'integer' }, currency: { type: 'string' } } } as const;

/** `GET /v1/users/me`: the spec 004 `user` fields plus the profile and host settings. */
export function profileView(user: User, now: Date): Record<string, unknown> {
  return {
    ...selfView(user),
    username: user.username ?? null,
    bio: user.bio ?? null,
    locale: user.locale ?? null,
    time_zone: user.time_zone ?? null,
    avatar_url: user.avatar_url ?? null,
    date_of_birth: user.date_of_birth ?? null,
    rate: user.rate ?? null,
    available: user.available ?? false,
    available_now: user.role === 'host' ? isAvailableNow(user, now) : false,
  };
}

/** JSON Schema of profileView's output. */
export const PROFILE_VIEW_SCHEMA = {
  type: 'object',
  required: [...SELF_VIEW_SCHEMA.required, 'username', 'bio', 'locale', 'time_zone', 'avatar_url', 'rate', 'available', 'available_now'],
  properties: {
    ...SELF_VIEW_SCHEMA.properties,
    username: { type: ['string', 'null'] },
    bio: { type: ['string', 'null'] },
    locale: { type: ['string', 'null'] },
    time_zone: { type: ['string', 'null'] },
    avatar_url: { type: ['string', 'null'] },
    date_of_birth: { type: ['string', 'null'], format: 'date' },
    rate: RATE_SCHEMA,
    available: { type: 'boolean' },
    available_now: { type: 'boolean' },
  },
} as const;

/** A host as anyone may see it: no email, birth date, locale or account state. */
export function publicHostView(user: User, now: Date): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username ?? null,
    display_name: user.display_name,
    bio: user.bio ?? null,
    avatar_url: user.avatar_url ?? null,
    rate: user.rate ?? null,
    time_zone: user.time_zone ?? null,
    availability: user.availability ?? [],
    available_now: isAvailableNow(user, now),
  };
}

/** JSON Schema of publicHostView's output. */
export const PUBLIC_HOST_SCHEMA = {
  type: 'object',
  required: ['id', 'username', 'display_name', 'bio', 'avatar_url', 'rate', 'time_zone', 'availability', 'available_now'],
  properties: {
    id: { type: 'string' },
    username: { type: ['string', 'null'] },
    display_name: { type: ['string', 'null'] },
    bio: { type: ['string', 'null'] },
    avatar_url: { type: ['string', 'null'] },
    rate: RATE_SCHEMA,
    time_zone: { type: ['string', 'null'] },
    availability: { type: 'array' },
    available_now: { type: 'boolean' },
  },
} as const;
