import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteJwks } from '../../../signal/server/remote-jwks.js';

const log = pino({ level: 'silent' });
const URL = 'http://api.test/.well-known/jwks.json';

function fakeFetch(responses: Array<() => Response>): typeof fetch & { calls: number } {
  const f = (async () => {
    const next = responses[Math.min(f.calls, responses.length - 1)]!;
    f.calls += 1;
    return next();
  }) as unknown as typeof fetch & { calls: number };
  f.calls = 0;
  return f;
}

const set = (...kids: string[]) => () => Response.json({ keys: kids.map((kid) => ({ kty: 'RSA', kid, n: 'AQAB', e: 'AQAB' })) });
const kidsOf = (jwks: RemoteJwks) => jwks.jwks().keys.map((k) => k.kid);
const open: RemoteJwks[] = [];

function remote(fetchFn: typeof fetch, now: () => number): RemoteJwks {
  const jwks = new RemoteJwks({ url: URL, log, fetch: fetchFn, now, cooldownMs: 30_000 });
  open.push(jwks);
  return jwks;
}

afterEach(() => {
  for (const jwks of open.splice(0)) jwks.close();
});

describe('RemoteJwks', () => {
  it('serves the fetched set synchronously and refetches on an unknown kid at most once per cooldown', async () => {
    let t = 0;
    const fetchFn = fakeFetch([set('k1'), set('k1', 'k2')]);
    const jwks = remote(fetchFn, () => t);
    expect(kidsOf(jwks)).toEqual([]);
    await jwks.refresh();
    expect(kidsOf(jwks)).toEqual(['k1']);
    t = 10_000;
    jwks.unknownKid('k2');
    expect(fetchFn.calls).toBe(1);
    t = 30_000;
    jwks.unknownKid('k2');
    jwks.unknownKid('k2');
    expect(fetchFn.calls).toBe(2);
    await jwks.refresh();
    expect(fetchFn.calls).toBe(2);
    expect(kidsOf(jwks)).toEqual(['k1', 'k2']);
  });

  it('keeps the last good set when a fetch fails or returns something else', async () => {
    const fetchFn = fakeFetch([set('k1'), () => new Response('down', { status: 503 }), () => Response.json({ keys: 'no' }), () => { throw new Error('ECONNREFUSED'); }]);
    const jwks = remote(fetchFn, () => 0);
    await jwks.refresh();
    for (let i = 0; i < 3; i += 1) await jwks.refresh();
    expect(fetchFn.calls).toBe(4);
    expect(kidsOf(jwks)).toEqual(['k1']);
  });

  it('retries every second on an unknown kid while it has no key yet', async () => {
    let t = 0;
    const fetchFn = fakeFetch([() => new Response('down', { status: 503 }), set('k1')]);
    const jwks = remote(fetchFn, () => t);
    await jwks.refresh();
    t = 999;
    jwks.unknownKid('k1');
    expect(fetchFn.calls).toBe(1);
    t = 1000;
    jwks.unknownKid('k1');
    expect(fetchFn.calls).toBe(2);
    await jwks.refresh();
    expect(fetchFn.calls).toBe(2);
    expect(kidsOf(jwks)).toEqual(['k1']);
  });
});
