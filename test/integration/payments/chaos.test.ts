import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MongoMinuteStore } from '../../../shared/billing/index.js';
import { expectLedgerBalanced } from '../../helpers/ledger.js';
import { until } from '../../helpers/poll.js';
import {
  callTotals, expectedTotals, hangupAndSettle, minuteRecorded, resume, startChaosCluster, startPaidCall,
  type CallTotals, type ChaosCluster, type PaidCall, type SignalProcess,
} from './chaos-harness.js';

const TICK_MS = 1500;
/** Minutes each call runs before its hangup. */
const N = 4;
/** The disturbance comes right after this minute is recorded, so it is over before the next ends. */
const DISTURB_AFTER = 2;
const SCENARIO_MS = 60000;

/**
 * "Exactly once" (docs/payments.md) with every part real and separate: a guest pays over HTTP,
 * both peers are on signal node processes over WebSocket, ticks every TICK_MS, the host hangs up
 * after N minutes. Whatever happens in the middle, the call ends with exactly N minutes billed and
 * captured, the host earning N × (rate − fee), the ledger balanced: the totals of an undisturbed call.
 */
describe('exactly once: a paid call disturbed in the middle bills what an undisturbed call does', () => {
  let c: ChaosCluster;
  let a: SignalProcess;
  let b: SignalProcess;
  let undisturbed: CallTotals | undefined;

  beforeAll(async () => {
    c = await startChaosCluster({ tickMs: TICK_MS });
    [a, b] = await Promise.all([c.startNode('chaos-a'), c.startNode('chaos-b')]);
  }, 120000);
  afterEach(async () => {
    await expectLedgerBalanced(c.ledger);
  });
  afterAll(async () => {
    await c?.stop();
  });

  /**
   * Host on `hostNode`, guest on `guestNode`; `disturb` runs once minute DISTURB_AFTER is
   * recorded, and what it returns runs right after the hangup.
   */
  async function scenario(hostNode: SignalProcess, guestNode: SignalProcess, disturb: (p: PaidCall) => Promise<void | (() => Promise<void>)>): Promise<CallTotals> {
    const p = await startPaidCall(c, hostNode, guestNode);
    try {
      await minuteRecorded(c, p.callId, DISTURB_AFTER);
      const afterHangup = await disturb(p);
      await minuteRecorded(c, p.callId, N);
      await hangupAndSettle(c, p, afterHangup ?? undefined);
      const totals = await callTotals(c, p);
      expect(totals).toEqual(expectedTotals(N));
      if (undisturbed) expect(totals).toEqual(undisturbed);
      return totals;
    } finally {
      p.clients.host.kill();
      p.clients.guest.kill();
    }
  }

  it(`undisturbed: ${N} minutes billed and captured`, async () => {
    undisturbed = await scenario(a, b, async () => undefined);
  }, SCENARIO_MS);

  it('(a) the node holding the host is SIGKILLed; the host resumes on the other node', async () => {
    await scenario(a, b, async (p) => {
      a.kill('SIGKILL');
      await a.exited;
      await resume(p, 'host', b);
    });
    a = await c.startNode('chaos-a2');
  }, SCENARIO_MS);

  it('(b) the node holding the host is drained (SIGTERM); the host resumes on the other node', async () => {
    await scenario(a, b, async (p) => {
      a.kill('SIGTERM');
      await p.clients.host.waitClose(10000);
      await resume(p, 'host', b);
    });
    expect((await a.exited).code).toBe(0);
    a = await c.startNode('chaos-a3');
  }, SCENARIO_MS);

  it('(c) the API process is SIGKILLed mid-call and restarted after the hangup', async () => {
    await scenario(a, b, async () => {
      await c.stopApi('SIGKILL');
      // Minutes N − DISTURB_AFTER, the hangup and the settlement delay all pass with no billing worker.
      return () => c.startApi();
    });
  }, SCENARIO_MS);

  it('(d) Redis is restarted (empty) during the call', async () => {
    await scenario(a, b, async () => {
      await c.restartRedis();
      await until(async () => {
        const states = await Promise.all([a, b].map(async (n) => (await fetch(`http://127.0.0.1:${n.signalPort}/ready`).then((r) => r.json()) as any).data.status));
        return states.every((s) => s === 'ready');
      }, 15000, 'both nodes ready again', 100);
    });
  }, SCENARIO_MS);

  it('(e) ticks delivered twice (another node, other content) and an applied minute delivered again, late', async () => {
    const store = new MongoMinuteStore(c.db);
    await scenario(a, b, async (p) => {
      const ticks = c.db.collection('minute_ticks');
      // Wait until minutes 1 and 2 are applied, so the repeats come after the fact.
      await until(async () => (await ticks.countDocuments({ call_id: p.callId, applied_at: { $ne: null } })) >= DISTURB_AFTER, 10000, 'two minutes applied');
      for (let minute = 1; minute <= DISTURB_AFTER; minute += 1) {
        await store.record({
          callId: p.callId, minute, at: new Date(), hostId: p.host.user.id, guestId: p.guestId, reconnecting: ['host', 'guest'], late: true, node: 'replayer',
        });
      }
      // Minute 1 delivered to billing again after minute 2 (a worker that died before marking it applied: unapplied is `pending`).
      await ticks.updateOne({ _id: `${p.callId}:1` as never }, { $set: { applied_at: null, pending: true, recorded_at: new Date() } });
      await until(async () => (await ticks.findOne({ _id: `${p.callId}:1` as never }))?.applied_at, 10000, 'minute 1 applied again');
    });
  }, SCENARIO_MS);
});
