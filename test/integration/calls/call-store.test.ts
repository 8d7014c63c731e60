import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoCallStore, type Call, type CallStatus } from '../../../shared/calls/index.js';
import { newId } from '../../../shared/ids.js';
import { freshDb } from '../../helpers/services.js';

function newCall(status: CallStatus = 'waiting', createdAt = new Date()): Call {
  return {
    id: newId(), link_id: newId(), short_code: 'abcdefghij', host_id: newId(), guest_id: 'gs_x', guest_role: 'guest',
    status, end_reason: null, rate: { amount: 100, currency: 'USD' }, max_duration_sec: 600,
    created_at: createdAt, ringing_at: null, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: createdAt, version: 0,
  };
}

// The behaviour every CallStore shares runs against MongoCallStore in test/contract/call-store.contract.ts;
// these are the Mongo store's own: claim documents, roll-forward, the transitions log, stale-call queries.
describe('MongoCallStore on real storage', () => {
  let db: Awaited<ReturnType<typeof freshDb>>;
  let store: MongoCallStore;
  beforeAll(async () => {
    db = await freshDb('callstore');
    store = new MongoCallStore(db.db);
    await store.ensureIndexes();
  });
  afterAll(async () => { await db.drop(); });

  it('rolls forward a claim whose writer died before updating the call', async () => {
    const call = await store.create(newCall('ringing'));
    const claimedAt = new Date(Date.now() - 60_000);
    // What a winner leaves behind when it dies between claiming version 0 and writing the call.
    await db.db.collection('call_transitions').insertOne({
      _id: `${call.id}:0` as never, call_id: call.id, version: 0, from: 'ringing', to: 'active', reason: null, at: claimedAt, claimed_at: claimedAt,
    });
    const ended = await store.transition(call.id, 'ended', { reason: 'hangup' });
    expect(ended).toMatchObject({ changed: true, call: { status: 'ended', end_reason: 'hangup', version: 2 } });
    const stored = await store.get(call.id);
    expect(stored).toMatchObject({ status: 'ended', answered_at: claimedAt, version: 2 });
    expect((await store.transitionsOf(call.id)).map((t) => t.to)).toEqual(['active', 'ended']);
  });

  it('does not apply a fresh rival claim itself (its live winner writes it)', async () => {
    const call = await store.create(newCall('ringing'));
    await db.db.collection('call_transitions').insertOne({
      _id: `${call.id}:0` as never, call_id: call.id, version: 0, from: 'ringing', to: 'active', reason: null, at: new Date(), claimed_at: new Date(),
    });
    await expect(store.transition(call.id, 'active')).resolves.toMatchObject({ changed: false, call: { status: 'active' } });
    expect((await store.get(call.id))!.status).toBe('ringing');
  });

  it('lets a retry with the same key finish its own claim whose write failed (and only with that key)', async () => {
    const call = await store.create(newCall('active'));
    // What an attempt leaves behind when its claim was inserted and the write to the call failed.
    await db.db.collection('call_transitions').insertOne({
      _id: `${call.id}:0` as never, call_id: call.id, version: 0, from: 'active', to: 'ended', reason: 'hangup', at: new Date(), claimed_at: new Date(), key: 'k1',
    });
    await expect(store.transition(call.id, 'ended', { reason: 'hangup', key: 'other' })).resolves.toMatchObject({ changed: false });
    expect((await store.get(call.id))!.status).toBe('active');
    await expect(store.transition(call.id, 'ended', { reason: 'hangup', key: 'k1' })).resolves.toMatchObject({ changed: true, call: { status: 'ended', version: 1 } });
    expect(await store.get(call.id)).toMatchObject({ status: 'ended', end_reason: 'hangup', version: 1 });
  });

  it('lets exactly one of competing terminal transitions win, round after round', async () => {
    for (let round = 0; round < 10; round++) {
      const call = await store.create(newCall('ringing'));
      const attempts = (['missed', 'declined', 'ended', 'failed'] as const).flatMap((to) => Array.from({ length: 5 }, () => to));
      const settled = await Promise.allSettled(attempts.map((to) => store.transition(call.id, to)));
      const winners = settled.filter((s) => s.status === 'fulfilled' && s.value.changed);
      expect(winners).toHaveLength(1);
      const final = (await store.get(call.id))!;
      expect(final.version).toBe(1);
      expect(await store.transitionsOf(call.id)).toEqual([expect.objectContaining({ version: 0, from: 'ringing', to: final.status })]);
      for (const s of settled) {
        if (s.status === 'rejected') expect(s.reason).toMatchObject({ code: 'conflict' });
        else expect(s.value.call.status).toBe(final.status);
      }
    }
  });

  it('finds open calls older than a cut-off, oldest first', async () => {
    const old = await store.create(newCall('ringing', new Date('2000-01-01T00:00:00Z')));
    const older = await store.create(newCall('waiting', new Date('1999-01-01T00:00:00Z')));
    await store.create(newCall('active', new Date('1999-06-01T00:00:00Z')));
    const found = await store.findStaleRinging(new Date('2001-01-01T00:00:00Z'), 10);
    expect(found.map((c) => c.id)).toEqual([older.id, old.id]);
  });
});
