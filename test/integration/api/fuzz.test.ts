import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteSpec } from '../../../api/http/route.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { makeUser } from '../users/fixtures.js';

/** A hang detector, not a timing test: the machine running the suite is shared and loaded. */
const MAX_MS = 3000;
/** Error answers are an envelope with at most 100 short details. */
const MAX_ERROR_BYTES = 32 * 1024;

const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`));

const bodyText = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 })).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.integer({ min: 1, max: 20000 }).map((n) => '{"x":' + '['.repeat(n) + ']'.repeat(n) + '}'),
  fc.integer({ min: 1, max: 20000 }).map((n) => '[' + '0,'.repeat(n) + '0]'),
  fc.constantFrom('{"__proto__":{"admin":true}}', '{"a":"\\u0000"}', '', ' ', 'null', '{', '[1,]'),
);

const request = fc.record({
  params: fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('0', '-1', '1e400', 'Infinity', '%00', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'gs_x')), { minLength: 3, maxLength: 3 }),
  query: fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('page', 'per_page', 'q', '__proto__')), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('1e400', '-1', '0', '100', 'NaN')), { maxKeys: 5 }),
  body: fc.option(bodyText, { nil: undefined }),
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/vnd.x+json', 'text/plain', 'multipart/form-data', 'application/json; charset=latin-9', undefined),
  auth: fc.constantFrom('admin', 'user', 'guest', 'garbage', 'none'),
  requestId: fc.option(printable(150), { nil: undefined }),
  extraHeader: fc.option(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), printable(100)), { nil: undefined }),
});

function fillPath(route: RouteSpec, params: string[]): string {
  let i = 0;
  return route.path.replace(/:(\w+)/g, () => encodeURIComponent(params[i++ % params.length]!));
}

describe('REST fuzz: every route of the real API', () => {
  let t: TestApi;
  let stripe: StripeMock;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    // Payments configured against the real stripe-mock, so the payment routes and the webhook
    // endpoint are fuzzed past their "not configured" 503.
    stripe = await startStripeMock();
    t = await startTestApi({ env: {
      RATE_LIMIT_EXEMPT_IPS: '["127.0.0.1"]',
      STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: stripe.url, STRIPE_WEBHOOK_SECRET: 'whsec_fuzz_0123456789',
    } });
    tokens = {
      admin: (await makeUser(t, 'admin')).token,
      user: (await makeUser(t, 'user')).token,
      guest: (await makeUser(t, 'guest')).token,
      garbage: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    };
  });
  afterAll(async () => { await t?.stop(); await stripe?.stop(); });

  it('answers generated bodies, queries and headers with no 5xx, bounded errors and no hang', async () => {
    const routes = t.api.routes;
    expect(routes.length).toBeGreaterThan(30);
    await fc.assert(fc.asyncProperty(fc.nat({ max: routes.length - 1 }), request, async (index, input) => {
      const route = routes[index]!;
      const method = input.body === undefined || route.method !== 'GET' ? route.method : 'GET';
      const headers: Record<string, string> = {};
      if (input.contentType) headers['content-type'] = input.contentType;
      if (input.auth !== 'none') headers['authorization'] = `Bearer ${tokens[input.auth]!}`;
      if (input.requestId !== undefined) headers['x-request-id'] = input.requestId;
      if (input.extraHeader) headers[input.extraHeader[0]] = input.extraHeader[1];
      const query = new URLSearchParams(Object.entries(input.query)).toString();
      const url = `${t.url}${fillPath(route, input.params)}${query ? `?${query}` : ''}`;
      const started = performance.now();
      const res = await fetch(url, { method, headers, ...(input.body !== undefined && method !== 'GET' ? { body: input.body } : {}) });
      const text = await res.text();
      const elapsed = performance.now() - started;
      const label = `${method} ${url} -> ${res.status} ${text.slice(0, 200)}`;
      expect(res.status, label).toBeLessThan(500);
      expect(elapsed, label).toBeLessThan(MAX_MS);
      if (res.status >= 400) {
        expect(text.length, label).toBeLessThan(MAX_ERROR_BYTES);
        expect(JSON.parse(text).error.code, label).toEqual(expect.any(String));
      }
    }), { numRuns: 400, seed: Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31) });
    expect((await fetch(`${t.url}/health-check`)).status).toBe(200);
  }, 120_000);
});
