import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call, CallStatus, CallStore } from '../../shared/calls/index.js';
import { AppError } from '../../shared/errors/index.js';
import { newId } from '../../shared/ids.js';

export function newCall(status: CallStatus = 'waiting', createdAt = new Date()): Call {
  return {
    id: newId(), link_id: newId(), short_code: 'abcdefghij', host_id: newId(), guest_id: 'gs_x', guest_role: 'guest',
    status, end_reason: null, rate: { amount: 100, currency: 'USD' }, max_duration_sec: 600,
    created_at: createdAt, ringing_at: null, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: createdAt, version: 0,
  };
}

/**
 * The CallStore contract (`shared/calls/call-store.ts`), run against every implementation:
 * `open` gives a store on empty storage, `close` releases it.
 */
export function callStoreContract(name: string, open: () => Promise<CallStore>, close: () => Promise<void>): void {
  describe(`CallStore contract: ${name}`, () => {
    let store: CallStore;
    beforeAll(async () => { store = await open(); });
    afterAll(async () => { await close(); });

    it('creates and reads back a call; an unknown id reads as null', async () => {
      const call = await store.create(newCall());
      expect(await store.get(call.id)).toEqual(call);
      expect(await store.get(newId())).toBeNull();
    });

    it('walks waiting → ringing → active → ended with the given timestamps and increasing versions', async () => {
      const call = await store.create(newCall());
      const t1 = new Date('2030-01-01T00:00:01Z');
      const ringing = await store.transition(call.id, 'ringing', { at: t1 });
      expect(ringing).toMatchObject({ changed: true, call: { status: 'ringing', ringing_at: t1, version: 1 } });
      const active = await store.transition(call.id, 'active', { at: new Date('2030-01-01T00:00:05Z') });
      expect(active.call.answered_at).toEqual(new Date('2030-01-01T00:00:05Z'));
      const ended = await store.transition(call.id, 'ended', { reason: 'insufficient_funds' });
      expect(ended).toMatchObject({ changed: true, call: { status: 'ended', end_reason: 'insufficient_funds', version: 3 } });
      expect(ended.call.ended_at).toBeInstanceOf(Date);
      expect(await store.get(call.id)).toMatchObject({ status: 'ended', ringing_at: t1, version: 3 });
    });

    it('is idempotent: asking for the current state changes nothing and records the default reason once', async () => {
      const call = await store.create(newCall());
      await store.transition(call.id, 'missed');
      const again = await store.transition(call.id, 'missed');
      expect(again).toMatchObject({ changed: false, call: { status: 'missed', end_reason: 'timeout', version: 1 } });
    });

    it('refuses illegal transitions with conflict (details.status) and leaves the call alone', async () => {
      const call = await store.create(newCall('active'));
      await expect(store.transition(call.id, 'missed')).rejects.toMatchObject({ code: 'conflict', details: { status: 'active' } });
      await store.transition(call.id, 'ended');
      await expect(store.transition(call.id, 'active')).rejects.toBeInstanceOf(AppError);
      await expect(store.transition(call.id, 'declined')).rejects.toMatchObject({ code: 'conflict' });
      expect((await store.get(call.id))!.status).toBe('ended');
    });

    it('refuses a reason that does not fit the status with a TypeError, before touching storage', async () => {
      const call = await store.create(newCall());
      await expect(store.transition(call.id, 'declined', { reason: 'timeout' })).rejects.toThrow(TypeError);
      expect((await store.get(call.id))!.status).toBe('waiting');
    });

    it('reports changed to a keyed retry of the transition that made the current state, and only to it', async () => {
      const call = await store.create(newCall('active'));
      await store.transition(call.id, 'ended', { reason: 'failure', key: 'k2' });
      await expect(store.transition(call.id, 'ended', { reason: 'failure', key: 'k2' })).resolves.toMatchObject({ changed: true, call: { status: 'ended', version: 1 } });
      await expect(store.transition(call.id, 'ended', { reason: 'failure', key: 'k3' })).resolves.toMatchObject({ changed: false });
      await expect(store.transition(call.id, 'ended', { reason: 'failure' })).resolves.toMatchObject({ changed: false });
    });

    it('answers not_found for an unknown call', async () => {
      await expect(store.transition(newId(), 'ended')).rejects.toMatchObject({ code: 'not_found' });
    });

    it('lets exactly one of 20 concurrent callers make the same transition', async () => {
      const call = await store.create(newCall('ringing'));
      const results = await Promise.all(Array.from({ length: 20 }, () => store.transition(call.id, 'active')));
      expect(results.filter((r) => r.changed)).toHaveLength(1);
      expect((await store.get(call.id))!.version).toBe(1);
    });

    it('lets exactly one of competing terminal transitions win; the losers see the winner or conflict', async () => {
      for (let round = 0; round < 3; round++) {
        const call = await store.create(newCall('ringing'));
        const attempts = (['missed', 'declined', 'ended', 'failed'] as const).flatMap((to) => Array.from({ length: 3 }, () => to));
        const settled = await Promise.allSettled(attempts.map((to) => store.transition(call.id, to)));
        const winners = settled.filter((s) => s.status === 'fulfilled' && s.value.changed);
        expect(winners).toHaveLength(1);
        const final = (await store.get(call.id))!;
        expect(final.version).toBe(1);
        for (const s of settled) {
          if (s.status === 'rejected') expect(s.reason).toMatchObject({ code: 'conflict' });
          else expect(s.value.call.status).toBe(final.status);
        }
      }
    });

    it('records who ended a call (system by default) and nothing before it ends', async () => {
      const byGuest = await store.create(newCall('active'));
      expect((await store.get(byGuest.id))!.ended_by).toBeNull();
      await expect(store.transition(byGuest.id, 'ended', { reason: 'hangup', by: 'guest' })).resolves.toMatchObject({ call: { ended_by: 'guest' } });
      expect(await store.get(byGuest.id)).toMatchObject({ status: 'ended', end_reason: 'hangup', ended_by: 'guest' });
      const swept = await store.create(newCall('ringing'));
      await store.transition(swept.id, 'missed');
      expect(await store.get(swept.id)).toMatchObject({ status: 'missed', end_reason: 'timeout', ended_by: 'system' });
      const started = await store.create(newCall('waiting'));
      await store.transition(started.id, 'ringing', { by: 'host' });
      expect((await store.get(started.id))!.ended_by).toBeNull();
    });

    it('writes media-up once on an active call: later callers get the first value, the status stays', async () => {
      const call = await store.create(newCall('ringing'));
      await store.transition(call.id, 'active', { at: new Date('2030-01-01T00:00:00Z') });
      const first = new Date('2030-01-01T00:00:03Z');
      const up = await store.markMediaUp(call.id, { at: first, by: 'guest' });
      expect(up).toMatchObject({ changed: true, call: { status: 'active', media_up_at: first, media_up_by: 'guest', version: 2 } });
      const again = await store.markMediaUp(call.id, { at: new Date('2030-01-01T00:00:09Z'), by: 'host' });
      expect(again).toMatchObject({ changed: false, call: { media_up_at: first, media_up_by: 'guest', version: 2 } });
      expect(await store.get(call.id)).toMatchObject({ status: 'active', answered_at: new Date('2030-01-01T00:00:00Z'), media_up_at: first, media_up_by: 'guest', version: 2 });
      // The call moves on as before, and keeps its media-up time.
      await expect(store.transition(call.id, 'ended', { by: 'host' })).resolves.toMatchObject({ changed: true, call: { status: 'ended', version: 3 } });
      expect(await store.get(call.id)).toMatchObject({ status: 'ended', media_up_at: first, ended_by: 'host' });
    });

    it('refuses media-up on a call that is not active (conflict, details.status) or unknown (not_found)', async () => {
      const ringing = await store.create(newCall('ringing'));
      await expect(store.markMediaUp(ringing.id, { at: new Date(), by: 'host' })).rejects.toMatchObject({ code: 'conflict', details: { status: 'ringing' } });
      const ended = await store.create(newCall('active'));
      await store.transition(ended.id, 'ended');
      await expect(store.markMediaUp(ended.id, { at: new Date(), by: 'system' })).rejects.toMatchObject({ code: 'conflict', details: { status: 'ended' } });
      expect(await store.get(ended.id)).toMatchObject({ media_up_at: null, media_up_by: null, version: 1 });
      await expect(store.markMediaUp(newId(), { at: new Date(), by: 'host' })).rejects.toMatchObject({ code: 'not_found' });
    });

    it('reports changed to a keyed retry of the media-up write, and a keyed retry of the activation still after it', async () => {
      const call = await store.create(newCall('ringing'));
      await store.transition(call.id, 'active', { key: 'act' });
      await store.markMediaUp(call.id, { at: new Date(), by: 'host', key: 'm1' });
      await expect(store.markMediaUp(call.id, { at: new Date(), by: 'host', key: 'm1' })).resolves.toMatchObject({ changed: true });
      await expect(store.markMediaUp(call.id, { at: new Date(), by: 'host', key: 'm2' })).resolves.toMatchObject({ changed: false });
      await expect(store.transition(call.id, 'active', { key: 'act' })).resolves.toMatchObject({ changed: true, call: { version: 2 } });
      await expect(store.transition(call.id, 'active', { key: 'other' })).resolves.toMatchObject({ changed: false });
    });

    it('lets exactly one of 20 concurrent media-up writers win, racing an end: all see one value or the end', async () => {
      const call = await store.create(newCall('active'));
      const times = Array.from({ length: 20 }, (_, i) => new Date(Date.UTC(2030, 0, 1, 0, 0, i)));
      const results = await Promise.all(times.map((at, i) => store.markMediaUp(call.id, { at, by: i % 2 ? 'host' : 'guest' })));
      const winners = results.filter((r) => r.changed);
      expect(winners).toHaveLength(1);
      const stored = (await store.get(call.id))!;
      expect(stored.version).toBe(1);
      for (const r of results) expect(r.call.media_up_at).toEqual(stored.media_up_at);

      const raced = await store.create(newCall('active'));
      const settled = await Promise.allSettled([
        ...Array.from({ length: 5 }, () => store.markMediaUp(raced.id, { at: new Date(), by: 'guest' })),
        store.transition(raced.id, 'ended', { by: 'host' }),
      ]);
      const final = (await store.get(raced.id))!;
      expect(final).toMatchObject({ status: 'ended', ended_by: 'host' });
      expect(final.version).toBe(final.media_up_at ? 2 : 1);
      for (const s of settled) if (s.status === 'rejected') expect(s.reason).toMatchObject({ code: 'conflict', details: { status: 'ended' } });
    });

    it('finds open calls created before a cut-off, oldest first, up to the limit', async () => {
      const old = await store.create(newCall('ringing', new Date('2000-01-01T00:00:00Z')));
      const older = await store.create(newCall('waiting', new Date('1999-01-01T00:00:00Z')));
      await store.create(newCall('active', new Date('1999-06-01T00:00:00Z')));
      const found = await store.findStaleRinging(new Date('2001-01-01T00:00:00Z'), 10);
      expect(found.map((c) => c.id)).toEqual([older.id, old.id]);
      expect((await store.findStaleRinging(new Date('2001-01-01T00:00:00Z'), 1)).map((c) => c.id)).toEqual([older.id]);
    });
  });
}
