import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../../api/http/app.js';
import { ok } from '../../../api/http/envelope.js';
import { listen, type HttpListener, type ListenTimeouts } from '../../../api/http/listen.js';
import { RateLimiters } from '../../../api/http/rate-limit.js';
import { defineRoutes } from '../../../api/http/route.js';
import { AppError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/runtime/logger.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { dropRedisPrefix, redisUrl, uniqueName } from '../../helpers/services.js';
import { makeUser } from '../users/fixtures.js';

const routes = defineRoutes([
  {
    method: 'POST', path: '/echo', operationId: 'echo', summary: 'echo', tags: ['t'], auth: 'none', rateLimit: false,
    body: { type: 'object', additionalProperties: false, required: ['email', 'password'], properties: { email: { type: 'string', format: 'email' }, password: { type: 'string', minLength: 8 }, n: { type: 'integer' } } },
    responses: { 200: { description: 'echo' } },
    handler: (ctx) => ok(ctx, ctx.state.body),
  },
  {
    method: 'GET', path: '/items/:id', operationId: 'item', summary: 'item', tags: ['t'], auth: 'none', rateLimit: false,
    params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } },
    query: { type: 'object', additionalProperties: false, properties: { page: { type: 'integer', minimum: 1, default: 1 } } },
    responses: { 200: { description: 'item' } },
    handler: (ctx) => ok(ctx, { params: ctx.state.params, query: ctx.state.query }),
  },
  {
    method: 'POST', path: '/free', operationId: 'free', summary: 'free-form body', tags: ['t'], auth: 'none', rateLimit: false,
    body: { type: 'object', properties: { meta: { type: 'object' } } },
    responses: { 200: { description: 'echo' } },
    handler: (ctx) => ok(ctx, ctx.state.body),
  },
  {
    method: 'GET', path: '/boom', operationId: 'boom', summary: 'boom', tags: ['t'], auth: 'none', rateLimit: false,
    responses: { 200: { description: 'never' } },
    handler: () => { throw new Error('secret driver detail: connection string mongodb://u:p@h'); },
  },
  {
    method: 'GET', path: '/forbidden', operationId: 'forbidden', summary: 'app error', tags: ['t'], auth: 'none', rateLimit: false,
    responses: { 200: { description: 'never' } },
    handler: () => { throw new AppError('forbidden', { message: 'Not yours.' }); },
  },
  {
    method: 'GET', path: '/limited', operationId: 'limited', summary: 'limited', tags: ['t'], auth: 'none', rateLimit: 'tiny',
    responses: { 200: { description: 'ok' } },
    handler: (ctx) => ok(ctx, { fine: true }),
  },
  {
    method: 'GET', path: '/private', operationId: 'private', summary: 'needs auth', tags: ['t'], auth: 'user',
    responses: { 200: { description: 'ok' } },
    handler: (ctx) => ok(ctx, { fine: true }),
  },
]);

const LIMIT_RULES = { tiny: { points: 2, durationSec: 60 }, authenticated: { points: 100, durationSec: 60 } };

function startApp(limiters: RateLimiters, timeouts: ListenTimeouts = {}): Promise<HttpListener> {
  const log = createLogger({ level: 'silent' });
  const app = createHttpApp({
    log, routes, limiters, bodyLimitBytes: 2048, trustProxy: false,
    authenticate: async () => { throw new AppError('unauthorized'); },
  });
  return listen(app, '127.0.0.1', 0, timeouts);
}

async function json(res: Response): Promise<any> {
  return res.json();
}

describe('HTTP conventions (Koa chain)', () => {
  let server: HttpListener;
  let base: string;
  let redis: Redis;
  const prefix = uniqueName('rl');

  beforeAll(async () => {
    redis = new Redis(redisUrl());
    server = await startApp(new RateLimiters({ rules: LIMIT_RULES, redis, keyPrefix: prefix }));
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.close(1000);
    await dropRedisPrefix(redis, prefix);
    redis.disconnect();
  });

  it('validates the body and lists every bad field in details', async () => {
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nope', password: 'short', extra: 1 }) });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: {
        code: 'validation_error', message: 'Request validation failed.',
        details: { email: 'must be a valid email address', password: 'must be at least 8 characters', extra: 'is not allowed' },
      },
    });
  });

  it('reports missing required fields and passes a valid body through', async () => {
    const missing = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect((await json(missing)).error.details).toEqual({ email: 'is required', password: 'is required' });
    const good = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@b.co', password: 'longenough', n: 3 }) });
    expect(good.status).toBe(200);
    expect(await json(good)).toEqual({ success: true, data: { email: 'a@b.co', password: 'longenough', n: 3 } });
  });

  it('does not coerce body types', async () => {
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@b.co', password: 'longenough', n: '3' }) });
    expect((await json(res)).error.details).toEqual({ n: 'must be integer' });
  });

  it('coerces and validates params and query', async () => {
    const good = await json(await fetch(`${base}/items/7?page=2`));
    expect(good.data).toEqual({ params: { id: 7 }, query: { page: 2 } });
    const bad = await fetch(`${base}/items/0?page=x&other=1`);
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.details).toEqual({ id: 'must be at least 1', page: 'must be integer', other: 'is not allowed' });
  });

  it('parses a query of thousands of repeats in one pass and refuses more than 1,000 parameters', async () => {
    const many = await fetch(`${base}/items/1?${Array.from({ length: 1001 }, () => 'page=1').join('&')}`);
    expect(many.status).toBe(400);
    expect((await json(many)).error.details).toEqual({ query: 'must have at most 1000 parameters' });
    const repeats = await fetch(`${base}/items/1?${Array.from({ length: 3 }, (_, i) => `page=${i + 1}`).join('&')}`);
    expect((await json(repeats)).error.details).toEqual({ page: 'must be integer' });
  });

  it('refuses non-finite numbers that query and path coercion would make of 1e400 or Infinity', async () => {
    for (const path of ['/items/1?page=1e400', '/items/1?page=Infinity', '/items/Infinity', '/items/1?page=-1e309']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(400);
      expect(Object.values((await json(res)).error.details), path).toContain('must be a finite number');
    }
  });

  it('refuses unknown fields named like Object.prototype members', async () => {
    const body = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@b.co', password: 'longenough', constructor: 1, toString: 'x' }) });
    expect(body.status).toBe(400);
    expect((await json(body)).error.details).toEqual({ constructor: 'is not allowed', toString: 'is not allowed' });
    const query = await fetch(`${base}/items/1?valueOf=1&__proto__=2&hasOwnProperty=3`);
    expect(query.status).toBe(400);
    expect(Object.keys((await json(query)).error.details).sort()).toEqual(['__proto__', 'hasOwnProperty', 'valueOf']);
  });

  it('refuses a __proto__ member as an unknown field, at any depth, even where the schema allows any member', async () => {
    const post = (path: string, body: string) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const top = await post('/echo', '{"email":"a@b.co","password":"longenough","__proto__":{"polluted":true}}');
    expect(top.status).toBe(400);
    expect((await json(top)).error).toEqual({ code: 'validation_error', message: 'Request validation failed.', details: Object.fromEntries([['__proto__', 'is not allowed']]) });
    const nested = await post('/free', '{"meta":{"a":[{"__proto__":{"polluted":true}}]}}');
    expect(nested.status).toBe(400);
    expect((await json(nested)).error.details).toEqual({ 'meta.a[0].__proto__': 'is not allowed' });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const fine = await post('/free', '{"meta":{"constructor":1,"prototype":2}}');
    expect(await json(fine)).toEqual({ success: true, data: { meta: { constructor: 1, prototype: 2 } } });
  });

  it('refuses strings with a NUL character in the body, query or path', async () => {
    const body = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@b.co', password: 'longenough\u0000' }) });
    expect(body.status).toBe(400);
    expect((await json(body)).error.details).toEqual({ password: 'must not contain NUL characters' });
    const query = await fetch(`${base}/items/1?page=%00`);
    expect((await json(query)).error.details).toEqual({ page: 'must not contain NUL characters' });
    const path = await fetch(`${base}/items/%00`);
    expect((await json(path)).error.details).toEqual({ id: 'must not contain NUL characters' });
  });

  it('answers multipart on a JSON route with 415', async () => {
    const form = new FormData();
    form.set('email', 'a@b.co');
    const res = await fetch(`${base}/echo`, { method: 'POST', body: form });
    expect(res.status).toBe(415);
    expect((await json(res)).error.code).toBe('unsupported_media_type');
  });

  it('answers a connection that sends no request with 408 at the headers deadline, and serves the next one', async () => {
    const quick = await startApp(new RateLimiters({ rules: LIMIT_RULES, redis, keyPrefix: prefix }), { headersMs: 300, requestMs: 600, checkEveryMs: 100 });
    try {
      const silent = connect(quick.port, '127.0.0.1');
      silent.setEncoding('utf8');
      let answer = '';
      silent.on('data', (chunk: string) => { answer += chunk; });
      const opened = Date.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        silent.on('close', () => resolve(Date.now() - opened));
        silent.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(closedAfter).toBeGreaterThanOrEqual(250);
      expect((await fetch(`http://127.0.0.1:${quick.port}/items/1`)).status).toBe(200);
    } finally {
      await quick.close(1000);
    }
  });

  it('answers malformed JSON with 400 validation_error', async () => {
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email": ' });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: 'validation_error', details: { body: 'must be valid JSON' } });
  });

  it('answers JSON nested beyond 32 levels with 400 validation_error, before parsing it', async () => {
    const deep = '{"x":' + '['.repeat(1000) + ']'.repeat(1000) + '}';
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: 'validation_error', details: { body: 'must nest at most 32 levels of objects and arrays' } });
    const atLimit = JSON.stringify({ email: 'a@b.co', password: 'longenough', n: 1, x: JSON.parse('['.repeat(31) + ']'.repeat(31)) });
    expect((await json(await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: atLimit }))).error.details).toEqual({ x: 'is not allowed' });
  });

  it('cuts long field names in details', async () => {
    const key = 'k'.repeat(1500);
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@b.co', password: 'longenough', [key]: 1 }) });
    expect((await json(res)).error.details).toEqual({ [`${'k'.repeat(200)}…`]: 'is not allowed' });
  });

  it('does not mistake brackets inside strings (escaped quotes too) for nesting', async () => {
    const password = '\\"' + '['.repeat(100) + '\\';
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@b.co', password }) });
    expect(res.status).toBe(200);
    expect((await json(res)).data.password).toBe(password);
  });

  it('answers an oversized body with 413 payload_too_large', async () => {
    const body = JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(5000) });
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe('payload_too_large');
  });

  it('answers an oversized chunked body (no Content-Length) with 413', async () => {
    const chunk = new TextEncoder().encode('{"email":"a@b.co","password":"' + 'y'.repeat(4000) + '"}');
    const stream = new ReadableStream({ start(c) { c.enqueue(chunk); c.close(); } });
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('answers a non-JSON content type with 415', async () => {
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(res.status).toBe(415);
    expect((await json(res)).error.code).toBe('unsupported_media_type');
  });

  it('answers unknown routes with 404 and wrong methods with 405 + Allow', async () => {
    const missing = await fetch(`${base}/nowhere`);
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe('not_found');
    const wrong = await fetch(`${base}/echo`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toContain('POST');
    expect((await json(wrong)).error.code).toBe('method_not_allowed');
  });

  it('turns an unexpected throw into 500 internal_error without leaking it', async () => {
    const res = await fetch(`${base}/boom`, { headers: { 'X-Request-ID': 'trace-123' } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'Unexpected server error.', details: null } });
    expect(text).not.toContain('mongodb://');
    expect(res.headers.get('x-request-id')).toBe('trace-123');
  });

  it('maps AppError codes to their statuses and messages', async () => {
    const res = await fetch(`${base}/forbidden`);
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ error: { code: 'forbidden', message: 'Not yours.', details: null } });
  });

  it('requires a bearer token on protected routes', async () => {
    const res = await fetch(`${base}/private`);
    expect(res.status).toBe(401);
    expect((await json(res)).error.code).toBe('unauthorized');
  });

  it('echoes a sane X-Request-ID and replaces an unsafe one', async () => {
    const sane = await fetch(`${base}/items/1`, { headers: { 'X-Request-ID': 'abc-DEF_1.2:3' } });
    expect(sane.headers.get('x-request-id')).toBe('abc-DEF_1.2:3');
    const unsafe = await fetch(`${base}/items/1`, { headers: { 'X-Request-ID': 'bad id with spaces <script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('rate-limits with X-RateLimit-* headers and Retry-After on 429 (Redis store)', async () => {
    const first = await fetch(`${base}/limited`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    const reset = Number(first.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThan(Date.now() / 1000);
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 60);
    expect((await fetch(`${base}/limited`)).headers.get('x-ratelimit-remaining')).toBe('0');
    const limited = await fetch(`${base}/limited`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect((await json(limited)).error.code).toBe('rate_limited');
    const keys = await redis.keys(`${prefix}:rl:tiny*`);
    expect(keys.length).toBe(1);
  });
});

describe('HTTP conventions (the real API)', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi({ env: { RATE_LIMIT_EXEMPT_IPS: '["127.0.0.1"]' } }); });
  afterAll(async () => { await t.stop(); });

  it('answers /health-check in the success envelope with request id and API version', async () => {
    const res = await fetch(`${t.url}/health-check`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true, data: { status: 'ok' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(res.headers.get('x-api-version')).toBe('1.0.0');
  });

  it('reports readiness with the MongoDB check', async () => {
    const res = await fetch(`${t.url}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true, data: { status: 'ready', checks: { mongodb: 'up' } } });
  });

  it('serves the JWKS with the signing key', async () => {
    const body = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; alg: string; d?: string }> };
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kid: t.keyRing.current.kid, alg: 'RS256', kty: 'RSA' });
    expect(body.keys[0]!.d).toBeUndefined();
  });

  it('answers 10,000 levels of nesting with 400 validation_error on every JSON route', async () => {
    const admin = (await makeUser(t, 'admin')).token;
    const deep = '{"x":' + '['.repeat(10000) + ']'.repeat(10000) + '}';
    const jsonRoutes = t.api.routes.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && !r.requestContentType);
    expect(jsonRoutes.length).toBeGreaterThan(20);
    for (const route of jsonRoutes) {
      const path = route.path.replace(/:(\w+)/g, 'x1');
      const res = await fetch(`${t.url}${path}`, { method: route.method, headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: deep });
      const label = `${route.method} ${route.path}`;
      expect(res.status, label).toBe(400);
      expect((await json(res)).error, label).toMatchObject({ code: 'validation_error', details: { body: 'must nest at most 32 levels of objects and arrays' } });
    }
  });

  it('refuses a body of 90,000 keys before parsing it, with a short answer', async () => {
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: 90000 }, (_, i) => [`k${i}`, 1])));
    expect(body.length).toBeLessThan(t.config.api.bodyLimitBytes);
    const res = await fetch(`${t.url}/v1/auth/guest-session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(1000);
    expect(JSON.parse(text).error).toEqual({ code: 'validation_error', message: 'Request validation failed.', details: { body: 'must have at most 10000 object members and array items in all' } });
  });

  it('lists the first 100 problems of a body with thousands, and says how many more there were', async () => {
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 1])));
    const res = await fetch(`${t.url}/v1/auth/guest-session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(5000);
    const details = JSON.parse(text).error.details as Record<string, string>;
    expect(Object.keys(details)).toHaveLength(101);
    expect(details['k0']).toBe('is not allowed');
    expect(details['k99']).toBe('is not allowed');
    expect(details['_truncated']).toBe('only the first 100 problems are listed (4900 more)');
  });

  it('names a __proto__ member of a guest-session body as not allowed', async () => {
    const res = await fetch(`${t.url}/v1/auth/guest-session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"__proto__":{"display_name":"x"}}' });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toEqual({ code: 'validation_error', message: 'Request validation failed.', details: Object.fromEntries([['__proto__', 'is not allowed']]) });
  });

  it('closes connections that send nothing (408 at the 10 s headers deadline) and idle keep-alive ones (5 s), with the product defaults', async () => {
    const port = new URL(t.url).port;
    const watch = (socket: Socket) => new Promise<{ answer: string; ms: number }>((resolve, reject) => {
      const opened = Date.now();
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => { answer += chunk; });
      socket.on('close', () => resolve({ answer, ms: Date.now() - opened }));
      socket.on('error', reject);
    });
    const silent = Array.from({ length: 20 }, () => watch(connect(Number(port), '127.0.0.1')));
    const kept = connect(Number(port), '127.0.0.1');
    const keptClosed = watch(kept);
    kept.write(`GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
    const deadline = new Promise<never>((_, reject) => { setTimeout(() => reject(new Error('connections still open after 25 s')), 25_000).unref(); });
    const closed = await Promise.race([Promise.all(silent), deadline]);
    for (const { answer, ms } of closed) {
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(ms).toBeGreaterThanOrEqual(9_000);
    }
    const idle = await Promise.race([keptClosed, deadline]);
    expect(idle.answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle.ms).toBeGreaterThanOrEqual(4_500);
  }, 40_000);

  it('serves the docs page and its assets', async () => {
    const page = await fetch(`${t.url}/docs`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('/openapi.json');
    const asset = await fetch(`${t.url}/docs/assets/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
    expect((await asset.text()).length).toBeGreaterThan(100000);
    expect((await fetch(`${t.url}/docs/assets/..%2Fpackage.json`)).status).toBe(400);
  });
});
