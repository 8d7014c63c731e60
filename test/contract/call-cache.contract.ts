import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call, CallCache } from '../../shared/calls/index.js';
import { newId } from '../../shared/ids.js';
import { until } from '../helpers/poll.js';

/** A call as the API creates it, at `version`. */
export function cachedCallFixture(version = 0, overrides: Partial<Call> = {}): Call {
  const at = new Date('2026-01-02T03:04:05.678Z');
  return {
    id: newId(), link_id: newId(), short_code: 'abcdefghij', host_id: 'u_host', guest_id: 'gs_guest', guest_role: 'guest',
    status: 'ringing', end_reason: null, rate: { amount: 100, currency: 'usd' }, max_duration_sec: 3600,
    created_at: at, ringing_at: at, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: at, version, ...overrides,
  };
}

/**
 * The CallCache contract (`shared/calls/call-cache.ts`), run against every implementation.
 * `open(ttlMs)` builds one whose entries live `ttlMs`.
 */
export function callCacheContract(name: string, open: (ttlMs: number) => Promise<CallCache>, close: () => Promise<void>): void {
  describe(`CallCache contract: ${name}`, () => {
    let cache: CallCache;
    beforeAll(async () => { cache = await open(60_000); });
    afterAll(async () => { await close(); });

    it('returns a call as it was put, dates included; null for a call never put', async () => {
      const call = cachedCallFixture(0);
      await cache.put(call);
      expect(await cache.get(call.id)).toEqual(call);
      expect(await cache.get(newId())).toBeNull();
    });

    it('keeps the newest version: an older one put later is ignored, the same one again is taken', async () => {
      const ringing = cachedCallFixture(0);
      const ended = { ...ringing, status: 'ended' as const, end_reason: 'hangup' as const, ended_at: new Date(), version: 1 };
      await cache.put(ended);
      await cache.put(ringing);
      expect(await cache.get(ringing.id)).toEqual(ended);
      await cache.put({ ...ended });
      expect((await cache.get(ringing.id))?.status).toBe('ended');
    });

    it('forgets a call once its lifetime since the last put has passed', async () => {
      const short = await open(150);
      const call = cachedCallFixture(3);
      await short.put(call);
      expect(await short.get(call.id)).toEqual(call);
      await until(async () => (await short.get(call.id)) === null, 3000, 'the entry to expire');
    });
  });
}
