import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveMongo, type ResolvedMongo } from '../../../shared/runtime/mongo/resolve.js';
import { expectLedgerBalanced } from '../../helpers/ledger.js';
import { until } from '../../helpers/poll.js';
import {
  callTotals, FEE, hangupAndSettle, minuteRecorded, RATE, resume, startChaosCluster, startPaidCall,
  type ChaosCluster, type SignalProcess,
} from './chaos-harness.js';

const TICK_MS = 1500;

/**
 * The known limit that is no more (docs/payments.md, "Exactly once"): a signal node SIGKILLed
 * while MongoDB is unreachable used to lose the minutes queued in its memory. Each minute is now
 * parked in Redis until stored, and another node writes out what a dead one left: the minute the
 * dead node counted is billed, once, as that node saw it.
 */
describe('a minute counted by a node that dies while MongoDB is unreachable', () => {
  let mongo: ResolvedMongo;
  let c: ChaosCluster;
  let a: SignalProcess;
  let b: SignalProcess;
  let redis: Redis;

  beforeAll(async () => {
    mongo = await resolveMongo({ dataDir: '.data/unused', ephemeral: true });
    expect(mongo.pid).toBeTypeOf('number');
    c = await startChaosCluster({ tickMs: TICK_MS, mongoUrl: mongo.url, apiEnv: { BILLING_SETTLE_DELAY_MS: '2000' } });
    [a, b] = await Promise.all([c.startNode('durable-a'), c.startNode('durable-b')]);
    redis = new Redis(c.redis.url, { maxRetriesPerRequest: 1 });
  }, 120000);
  afterAll(async () => {
    if (mongo?.pid) try { process.kill(mongo.pid, 'SIGCONT'); } catch { /* gone */ }
    redis?.disconnect();
    await c?.stop();
    await mongo?.stop();
  });

  it('is parked in Redis, written out by the surviving node once MongoDB is back, and billed exactly once', async () => {
    const p = await startPaidCall(c, a, a);
    await minuteRecorded(c, p.callId, 1);
    const outbox = `${c.prefix}:billing:minutes`;
    const minute = 2;
    const key = `${p.callId}:${minute}`;
    process.kill(mongo.pid!, 'SIGSTOP');
    try {
      // Node a claims and emits minute 2; its write to the stopped database hangs.
      await until(() => a.logs.some((l) => l['msg'] === 'call tick' && l['call'] === p.callId && l['minute'] === minute), 10000, `node a emits minute ${minute}`);
      await until(() => redis.hexists(outbox, key), 5000, 'the minute parked in the outbox');
      a.kill('SIGKILL');
      await a.exited;
    } finally {
      process.kill(mongo.pid!, 'SIGCONT');
    }
    // Node a's insert may have reached the stopped database's socket before the kill and land when it
    // resumes; stored that way or adopted from the outbox, the minute must be billed exactly once.
    await Promise.all([resume(p, 'host', b), resume(p, 'guest', b)]);
    // Node b adopts the parked minute (MINUTE_ADOPT_AFTER_MS after it was parked) and removes it.
    await minuteRecorded(c, p.callId, minute, 20000);
    await until(async () => (await redis.hexists(outbox, key)) === 0, 10000, 'the outbox emptied');
    const stored = await c.db.collection('minute_ticks').findOne({ _id: key as never });
    expect(stored).toMatchObject({ node: 'durable-a', reconnecting: [], late: false });
    await minuteRecorded(c, p.callId, minute + 3);
    await hangupAndSettle(c, p);

    const outcomes = await c.db.collection('billed_minutes').find({ call_id: p.callId }).sort({ minute: 1 }).toArray();
    expect(outcomes.find((o) => o.minute === minute)).toMatchObject({ status: 'billed' });
    const ledgerRows = await c.db.collection('ledger').countDocuments({ _id: `minute:${key}` as never });
    expect(ledgerRows).toBe(1);
    // Every minute of the call counted once: 1 … elapsed, no gap; those ended while both peers
    // were on the dead node and not yet back are not billed (reconnecting), all others are.
    const totals = await callTotals(c, p);
    const ticks = await c.db.collection('minute_ticks').find({ call_id: p.callId }).sort({ minute: 1 }).toArray();
    const counted = ticks.filter((t) => t.minute <= totals.elapsedMinutes);
    expect(counted.map((t) => t.minute)).toEqual(Array.from({ length: totals.elapsedMinutes }, (_, i) => i + 1));
    const billable = counted.filter((t) => t.reconnecting.length === 0).length;
    expect(billable).toBeGreaterThanOrEqual(minute + 1);
    expect(totals.billed).toBe(billable);
    expect(totals.payment).toEqual({
      billed_minutes: billable, billed_minor: billable * RATE, captured_minor: billable * RATE, net_minor: billable * (RATE - FEE), written_off_minor: 0,
    });
    expect(totals.ledger['host:<host>:available']).toBe(-billable * (RATE - FEE));
    await expectLedgerBalanced(c.ledger);
  }, 90000);
});
