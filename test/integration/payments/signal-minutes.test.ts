import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoMinuteStore } from '../../../shared/billing/index.js';
import { loadKeyRing } from '../../../shared/tokens/index.js';
import { testConfig } from '../../helpers/config.js';
import { until } from '../../helpers/poll.js';
import { freshDb } from '../../helpers/services.js';
import { startLocalNode } from '../../helpers/signal-cluster.js';
import type { SignalNode } from '../../../signal/main.js';

/** The signal side of the minute store: a node given a sink records every tick once, durably. */
describe('signal node → minute store', () => {
  let db: Awaited<ReturnType<typeof freshDb>>;
  let node: SignalNode;
  let store: MongoMinuteStore;
  beforeAll(async () => {
    db = await freshDb('sigmin');
    store = new MongoMinuteStore(db.db);
    await store.ensureIndexes();
    const ring = loadKeyRing(testConfig().auth.keysDir, { generateIfEmpty: true });
    ({ node } = await startLocalNode({ db: db.db, ring, minutes: store }));
  });
  afterAll(async () => {
    await node?.close();
    await db.drop();
  });

  it('records each tick event as one minute (a repeated tick keeps the first record)', async () => {
    const tick = { callId: 'c1', minute: 1, at: new Date('2030-01-01T00:01:00Z'), node: 'n1', hostId: 'h1', guestId: 'gs_1', reconnecting: [], late: false };
    node.events.emit('tick', tick);
    node.events.emit('tick', { ...tick, node: 'n2', late: true });
    node.events.emit('tick', { ...tick, minute: 2, at: new Date('2030-01-01T00:02:00Z'), reconnecting: ['guest'] });
    const pending = await until(async () => { const p = await store.pending(10); return p.length === 2 ? p : null; }, 10000, 'two minutes recorded');
    expect(pending.map((m) => [m.callId, m.minute, m.node, m.reconnecting])).toEqual([['c1', 1, 'n1', []], ['c1', 2, 'n1', ['guest']]]);
    await store.markApplied('c1', 1, new Date());
    expect(await store.pendingOf('c1')).toBe(1);
  });
});
