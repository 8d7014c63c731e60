import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../../api/http/app.js';
import type { AppContext } from '../../../api/http/context.js';
import { ok } from '../../../api/http/envelope.js';
import { listen, type HttpListener } from '../../../api/http/listen.js';
import { RateLimiters } from '../../../api/http/rate-limit.js';
import { defineRoutes } from '../../../api/http/route.js';
import { requestHash } from '../../../api/http/idempotency.js';
import { IdempotencyKeysRepository } from '../../../api/repositories/idempotency-keys.js';
import { AppError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/runtime/logger.js';
import { freshDb } from '../../helpers/services.js';

/**
 * The middleware on a real Koa app over HTTP and real storage. The caller is named by a test
 * header (authentication is not what is tested here); the handler counts its runs.
 */
describe('X-Idempotency-Key', () => {
  let db: Awaited<ReturnType<typeof freshDb>>;
  let listener: HttpListener;
  let base: string;
  let runs = 0;
  let gate: Promise<void> | null = null;
  let failNext: 'server' | 'client' | null = null;
  let clockMs = Date.now();

  beforeAll(async () => {
    db = await freshDb('idem');
    const store = new IdempotencyKeysRepository(db.db);
    await store.ensureIndexes();
    const routes = defineRoutes([{
      method: 'POST', path: '/v1/things/:id', operationId: 'makeThing', summary: 'test', tags: ['test'], auth: 'guest', rateLimit: false,
      idempotency: 'required',
      params: { type: 'object', properties: { id: { type: 'string' } } },
      body: { type: 'object', properties: { amount: { type: 'integer' }, note: { type: 'string' } }, additionalProperties: false },
      responses: { 201: { description: 'made' } },
      handler: async (ctx: AppContext) => {
        runs += 1;
        const run = runs;
        if (gate) await gate;
        if (failNext === 'server') { failNext = null; throw new Error('boom'); }
        if (failNext === 'client') { failNext = null; throw new AppError('stripe_error', { message: 'declined', details: { run } }); }
        ok(ctx, { run, body: ctx.state.body }, 201);
      },
    }]);
    const app = createHttpApp({
      log: createLogger({ level: 'silent' }), routes, limiters: new RateLimiters({ rules: {}, keyPrefix: 'x' }), bodyLimitBytes: 10000, trustProxy: false,
      authenticate: async (ctx) => ({ userId: ctx.get('X-Test-User') || 'u1', role: 'user', tokenId: 't' }),
      idempotency: { store, ttlMs: 24 * 3600_000, leaseMs: 60_000, now: () => new Date(clockMs) },
    });
    listener = await listen(app, '127.0.0.1', 0);
    base = `http://127.0.0.1:${listener.port}`;
  });
  afterAll(async () => {
    await listener.close(1000);
    await db.drop();
  });

  async function send(key: string | null, body: unknown, options: { user?: string; path?: string; raw?: string } = {}) {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Test-User': options.user ?? 'u1' };
    if (key !== null) headers['X-Idempotency-Key'] = key;
    const res = await fetch(`${base}${options.path ?? '/v1/things/a'}`, { method: 'POST', headers, body: options.raw ?? JSON.stringify(body) });
    return { status: res.status, replayed: res.headers.get('Idempotent-Replayed'), retryAfter: res.headers.get('Retry-After'), body: await res.json() as any };
  }

  it('replays the stored response for the same key and body, without running the handler again', async () => {
    const key = randomUUID();
    const first = await send(key, { amount: 5, note: 'x' });
    expect(first.status).toBe(201);
    const before = runs;
    const again = await send(key, { note: 'x', amount: 5 }, { raw: '{"note":"x","amount":5}' });
    expect(again).toMatchObject({ status: 201, replayed: 'true', body: first.body });
    expect(runs).toBe(before);
  });

  it('answers 409 conflict for the same key with another body or path', async () => {
    const key = randomUUID();
    await send(key, { amount: 5 });
    expect((await send(key, { amount: 6 })).body.error.code).toBe('conflict');
    expect((await send(key, { amount: 5 }, { path: '/v1/things/b' })).status).toBe(409);
  });

  it('scopes keys per user', async () => {
    const key = randomUUID();
    const a = await send(key, { amount: 1 }, { user: 'ua' });
    const b = await send(key, { amount: 2 }, { user: 'ub' });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.replayed).toBeNull();
  });

  it('requires a UUID key', async () => {
    expect((await send(null, { amount: 1 })).body.error).toMatchObject({ code: 'validation_error', details: { 'X-Idempotency-Key': 'is required' } });
    expect((await send('not-a-uuid', { amount: 1 })).body.error.code).toBe('validation_error');
  });

  it('two at once: one runs, the other gets 409 with Retry-After, then the replay', async () => {
    const key = randomUUID();
    let open!: () => void;
    gate = new Promise((resolve) => { open = resolve; });
    const before = runs;
    const first = send(key, { amount: 9 });
    await new Promise<void>((resolve) => { const poll = () => (runs > before ? resolve() : setTimeout(poll, 10)); poll(); });
    const second = await send(key, { amount: 9 });
    expect(second).toMatchObject({ status: 409, retryAfter: '1' });
    gate = null;
    open();
    expect((await first).status).toBe(201);
    expect(await send(key, { amount: 9 })).toMatchObject({ status: 201, replayed: 'true' });
    expect(runs).toBe(before + 1);
  });

  it('stores a 4xx (replayed as is) but frees the key after a 5xx', async () => {
    const declined = randomUUID();
    failNext = 'client';
    const first = await send(declined, { amount: 1 });
    expect(first.status).toBe(402);
    expect(await send(declined, { amount: 1 })).toMatchObject({ status: 402, replayed: 'true', body: first.body });
    const crashed = randomUUID();
    failNext = 'server';
    expect((await send(crashed, { amount: 1 })).status).toBe(500);
    expect(await send(crashed, { amount: 1 })).toMatchObject({ status: 201, replayed: null });
  });

  it('forgets a key after 24 h, and lets a request whose runner died take over after the lease', async () => {
    const key = randomUUID();
    await send(key, { amount: 1 });
    clockMs += 24 * 3600_000 + 1;
    expect(await send(key, { amount: 2 })).toMatchObject({ status: 201, replayed: null });
    const stuck = randomUUID();
    await db.db.collection('idempotency_keys').insertOne({
      _id: `u1:${stuck}` as never, user_id: 'u1', key: stuck, request_hash: 'other', state: 'running', response: null,
      lease_until: new Date(clockMs - 1), created_at: new Date(clockMs - 61_000), expires_at: new Date(clockMs + 3600_000),
    });
    expect((await send(stuck, { amount: 1 })).status).toBe(409);
    const died = randomUUID();
    await db.db.collection('idempotency_keys').insertOne({
      _id: `u1:${died}` as never, user_id: 'u1', key: died, request_hash: requestHash('POST', '/v1/things/a', { amount: 1 }), state: 'running', response: null,
      lease_until: new Date(clockMs - 1), created_at: new Date(clockMs - 61_000), expires_at: new Date(clockMs + 3600_000),
    });
    expect(await send(died, { amount: 1 })).toMatchObject({ status: 201, replayed: null });
    expect(await send(died, { amount: 1 })).toMatchObject({ status: 201, replayed: 'true' });
  });
});
