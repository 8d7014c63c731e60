import { Writable } from 'node:stream';
import type { Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { AppError, validationError } from '../../shared/errors/index.js';
import type { AppContext, AppState } from '../http/context.js';
import { ok } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import type { AvatarsService } from '../services/avatars/avatars-service.js';
import type { WeeklyInterval } from '../services/availability/schedule.js';
import { isAvailableNow } from '../services/availability/schedule.js';
import { PROFILE_VIEW_SCHEMA, profileView, PUBLIC_HOST_SCHEMA, publicHostView } from '../services/users/profile-view.js';
import type { ProfilePatch, UsersService } from '../services/users/users-service.js';

const ENVELOPE_SLACK = 64 * 1024;

/** formidable's error code for more files than `maxFiles` (`FormidableError.maxFilesExceeded`). */
const FORMIDABLE_MAX_FILES_EXCEEDED = 1015;

/**
 * Parses `multipart/form-data` holding one file in `field`, kept in memory and bounded by
 * `maxBytes` while streaming (413 beyond). Leaves `{ [field]: Buffer }` as the request body.
 * Not multipart → 415; no such file → 400.
 */
export function singleFileUpload(field: string, maxBytes: number): Middleware<AppState> {
  return async (ctx, next) => {
    if (!ctx.is('multipart/form-data')) throw new AppError('unsupported_media_type', { message: `Send multipart/form-data with a "${field}" file.` });
    const declared = Number(ctx.get('Content-Length'));
    if (Number.isFinite(declared) && declared > maxBytes + ENVELOPE_SLACK) throw new AppError('payload_too_large', { message: `Upload must be at most ${maxBytes} bytes.` });
    const buffers = new Map<unknown, Buffer[]>();
    const parse = koaBody({
      multipart: true, json: false, urlencoded: false, text: false,
      formidable: {
        maxFiles: 1, maxFileSize: maxBytes, maxTotalFileSize: maxBytes, maxFields: 8, maxFieldsSize: 8 * 1024,
        allowEmptyFiles: false, minFileSize: 1,
        fileWriteStreamHandler: (file) => {
          const chunks: Buffer[] = [];
          buffers.set(file, chunks);
          return new Writable({ write(chunk: Buffer, _encoding, done) { chunks.push(chunk); done(); } });
        },
      },
    }) as unknown as Middleware<AppState>;
    try {
      await parse(ctx, async () => undefined);
    } catch (err) {
      const status = (err as { httpCode?: number }).httpCode ?? (err as { status?: number }).status;
      // formidable answers a second file with 413 too; it is a malformed upload, not a large one.
      if ((err as { code?: number }).code === FORMIDABLE_MAX_FILES_EXCEEDED) throw validationError({ [field]: 'is required (one file)' });
      if (status === 413) throw new AppError('payload_too_large', { message: `Upload must be at most ${maxBytes} bytes.`, cause: err });
      throw new AppError('validation_error', { message: 'Malformed multipart body.', details: { [field]: 'must be a single non-empty file' }, cause: err });
    }
    const files = (ctx.request as unknown as { files?: Record<string, unknown> }).files ?? {};
    const file = files[field];
    const chunks = file && !Array.isArray(file) ? buffers.get(file) : undefined;
    if (!chunks) throw validationError({ [field]: 'is required (one file)' });
    (ctx.request as unknown as { body: unknown }).body = { [field]: Buffer.concat(chunks) };
    await next();
  };
}

const envelope = (data: Record<string, unknown>) => ({ type: 'object', properties: { success: { const: true }, data } });
const PROFILE_RESPONSE = { 200: { description: 'The caller\'s profile.', schema: envelope(PROFILE_VIEW_SCHEMA) } };

const INTERVAL_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['day', 'start', 'end'],
  properties: {
    day: { type: 'integer', minimum: 0, maximum: 6, description: '0 = Sunday.' },
    start: { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' },
    end: { type: 'string', pattern: '^(([01]\\d|2[0-3]):[0-5]\\d|24:00)$' },
    overnight: { type: 'boolean', description: 'The interval ends at `end` on the next day.' },
  },
} as const;

const AVAILABILITY_VIEW = {
  type: 'object', required: ['time_zone', 'intervals', 'available', 'available_now'],
  properties: { time_zone: { type: 'string' }, intervals: { type: 'array', items: INTERVAL_SCHEMA }, available: { type: 'boolean' }, available_now: { type: 'boolean' } },
} as const;

/** `/v1/users/*` and `/v1/avatars/:id`. */
export function userRoutes(deps: { users: UsersService; avatars: AvatarsService; avatarMaxBytes: number; now?: () => Date }): RouteSpec[] {
  const { users, avatars } = deps;
  const now = deps.now ?? (() => new Date());
  const me = (ctx: AppContext) => ctx.state.principal!.userId;
  const availabilityOf = async (userId: string) => {
    const user = await users.get(userId);
    return { time_zone: user.time_zone ?? 'UTC', intervals: user.availability ?? [], available: user.available ?? false, available_now: isAvailableNow(user, now()) };
  };
  return defineRoutes([
    {
      method: 'GET', path: '/v1/users/me', operationId: 'getMe', summary: 'Get own profile.', tags: ['users'], auth: 'user',
      responses: PROFILE_RESPONSE,
      handler: async (ctx) => { ok(ctx, profileView(await users.get(me(ctx)), now())); },
    },
    {
      method: 'PUT', path: '/v1/users/me', operationId: 'updateMe', summary: 'Update profile.', tags: ['users'], auth: 'user',
      body: {
        type: 'object', additionalProperties: false,
        properties: {
          display_name: { type: ['string', 'null'], maxLength: 80 },
          bio: { type: ['string', 'null'], maxLength: 500 },
          username: { type: 'string', minLength: 1, maxLength: 64, description: '3–30 letters, digits or `_`, starting with a letter; stored lower-case; unique.' },
          locale: { type: ['string', 'null'], minLength: 2, maxLength: 35, description: 'BCP 47 language tag.' },
          time_zone: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA time zone name.' },
        },
      },
      errors: ['conflict'],
      responses: PROFILE_RESPONSE,
      handler: async (ctx) => { ok(ctx, profileView(await users.updateProfile(me(ctx), ctx.state.body as ProfilePatch), now())); },
    },
    {
      method: 'PUT', path: '/v1/users/me/avatar', operationId: 'uploadAvatar', summary: 'Upload avatar (JPEG, PNG or WebP; multipart field `avatar`).', tags: ['users'], auth: 'user',
      requestContentType: 'multipart/form-data',
      body: { type: 'object', required: ['avatar'], properties: { avatar: { type: 'string', contentMediaType: 'application/octet-stream' } } },
      before: [singleFileUpload('avatar', deps.avatarMaxBytes)],
      errors: ['payload_too_large', 'unsupported_media_type'],
      responses: PROFILE_RESPONSE,
      handler: async (ctx) => {
        const { avatar } = ctx.state.body as { avatar: Buffer };
        ok(ctx, profileView(await avatars.upload(me(ctx), avatar), now()));
      },
    },
    {
      method: 'POST', path: '/v1/users/me/become-host', operationId: 'becomeHost', summary: 'Become a host (18+, unique username).', tags: ['users'], auth: 'verified_user',
      body: {
        type: 'object', additionalProperties: false,
        properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, date_of_birth: { type: 'string', format: 'date', description: 'YYYY-MM-DD.' } },
      },
      errors: ['conflict'],
      responses: PROFILE_RESPONSE,
      handler: async (ctx) => { ok(ctx, profileView(await users.becomeHost(me(ctx), ctx.state.body as { username?: string; date_of_birth?: string }, now()), now())); },
    },
    {
      method: 'PUT', path: '/v1/users/me/rate', operationId: 'setRate', summary: 'Set the per-minute rate.', tags: ['users'], auth: 'host',
      body: {
        type: 'object', additionalProperties: false, required: ['amount', 'currency'],
        properties: { amount: { type: 'integer', minimum: 0, description: 'Per-minute price in minor units.' }, currency: { type: 'string', pattern: '^[A-Za-z]{3}$', description: 'ISO 4217 code.' } },
      },
      responses: PROFILE_RESPONSE,
      handler: async (ctx) => { ok(ctx, profileView(await users.setRate(me(ctx), ctx.state.body as { amount: number; currency: string }), now())); },
    },
    {
      method: 'PUT', path: '/v1/users/me/toggle-available', operationId: 'toggleAvailable', summary: 'Set (or flip, with no body) the availability toggle.', tags: ['users'], auth: 'host',
      body: { type: 'object', additionalProperties: false, properties: { available: { type: 'boolean' } } },
      responses: { 200: { description: 'The toggle and whether the host is available now.', schema: envelope({ type: 'object', properties: { available: { type: 'boolean' }, available_now: { type: 'boolean' } } }) } },
      handler: async (ctx) => { ok(ctx, await users.toggleAvailable(me(ctx), (ctx.state.body as { available?: boolean }).available, now())); },
    },
    {
      method: 'GET', path: '/v1/users/me/availability', operationId: 'getAvailability', summary: 'Get the weekly schedule.', tags: ['users'], auth: 'host',
      responses: { 200: { description: 'Schedule, toggle and the current availability.', schema: envelope(AVAILABILITY_VIEW) } },
      handler: async (ctx) => { ok(ctx, await availabilityOf(me(ctx))); },
    },
    {
      method: 'PUT', path: '/v1/users/me/availability', operationId: 'setAvailability', summary: 'Replace the weekly schedule.', tags: ['users'], auth: 'host',
      body: {
        type: 'object', additionalProperties: false, required: ['intervals'],
        properties: { time_zone: { type: 'string', minLength: 1, maxLength: 64 }, intervals: { type: 'array', maxItems: 50, items: INTERVAL_SCHEMA } },
      },
      responses: { 200: { description: 'The stored schedule.', schema: envelope(AVAILABILITY_VIEW) } },
      handler: async (ctx) => {
        await users.setAvailability(me(ctx), ctx.state.body as { time_zone?: string; intervals: WeeklyInterval[] });
        ok(ctx, await availabilityOf(me(ctx)));
      },
    },
    {
      method: 'GET', path: '/v1/users/handle/:handle/available', operationId: 'handleAvailable', summary: 'Check whether a username can be claimed.', tags: ['users'], auth: 'none',
      params: { type: 'object', required: ['handle'], properties: { handle: { type: 'string', minLength: 1, maxLength: 64 } } },
      responses: {
        200: {
          description: '`reason`: `invalid_format`, `reserved`, `taken` or null.',
          schema: envelope({ type: 'object', properties: { handle: { type: 'string' }, available: { type: 'boolean' }, reason: { enum: ['invalid_format', 'reserved', 'taken', null] } } }),
        },
      },
      handler: async (ctx) => { ok(ctx, await users.handleAvailability(String(ctx.state.params!['handle']))); },
    },
    {
      method: 'GET', path: '/v1/users/:username', operationId: 'getHost', summary: 'Public host profile.', tags: ['users'], auth: 'none',
      params: { type: 'object', required: ['username'], properties: { username: { type: 'string', minLength: 1, maxLength: 64 } } },
      errors: ['not_found'],
      responses: { 200: { description: 'The host.', schema: envelope(PUBLIC_HOST_SCHEMA) } },
      handler: async (ctx) => { ok(ctx, publicHostView(await users.publicHost(String(ctx.state.params!['username'])), now())); },
    },
    {
      method: 'GET', path: '/v1/avatars/:id', operationId: 'getAvatar', summary: 'An avatar image (public, immutable per id).', tags: ['users'], auth: 'none',
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
      errors: ['not_found'],
      responses: { 200: { description: 'The image bytes.', contentType: 'image/*', schema: { type: 'string', contentMediaType: 'image/*' } }, 304: { description: 'Not modified (If-None-Match).' } },
      handler: async (ctx) => {
        const avatar = await avatars.get(String(ctx.state.params!['id']));
        ctx.set('ETag', avatar.etag);
        ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
        ctx.set('X-Content-Type-Options', 'nosniff');
        const inm = ctx.get('If-None-Match');
        if (inm && (inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === avatar.etag))) {
          ctx.status = 304;
          return;
        }
        ctx.status = 200;
        ctx.type = avatar.contentType;
        ctx.body = avatar.bytes;
      },
    },
  ]);
}
