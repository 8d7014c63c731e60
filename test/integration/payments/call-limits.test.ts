import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerRepository } from '../../../api/repositories/ledger.js';
import { LedgerService } from '../../../api/services/payments/ledger.js';
import { MongoFundingStore, MongoMinuteStore } from '../../../shared/billing/index.js';
import { MongoCallStore } from '../../../shared/calls/index.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import type { SignalNode } from '../../../signal/main.js';
import { expectLedgerBalanced } from '../../helpers/ledger.js';
import { until } from '../../helpers/poll.js';
import { dropRedisPrefix, mongoUrl, redisClient, redisUrl, uniqueName } from '../../helpers/services.js';
import { createCall, peerToken, spawnNode, startLocalNode } from '../../helpers/signal-cluster.js';
import type { FaultHandle } from '../../helpers/stripe-fault-proxy.js';
import { SignalClient } from '../../helpers/ws-client.js';
import { call, makeGuest, makeHost } from '../users/fixtures.js';
import { startPaymentsHarness, type PaymentsHarness } from './harness.js';

const RATE = 300;
const HOLD_MINUTES = 4;
const TICK_MS = 600;
/** Signal-node settings of the paid calls: short billing minutes, frequent sweeps. */
const SIGNAL_ENV = { SIGNAL_TICK_MS: String(TICK_MS), SIGNAL_SWEEP_MS: '100' };

type Proc = Awaited<ReturnType<typeof spawnNode>>;

/**
 * The limits of a running call, end to end: a paid call whose hold cannot be extended warns its
 * guest and ends `insufficient_funds` for both peers once the paid minutes are used (one node,
 * and peers on two node processes), capturing exactly the funded minutes; a call past its
 * maximum duration ends `max_duration` on both nodes.
 */
describe('call limits with real signal nodes', () => {
  let h: PaymentsHarness;
  let ledger: LedgerService;
  const clients: SignalClient[] = [];
  const procs: Proc[] = [];
  const prefix = uniqueName('limits');

  beforeAll(async () => {
    h = await startPaymentsHarness({
      BILLING_HOLD_MINUTES: String(HOLD_MINUTES), BILLING_EXTEND_AT_MINUTES: String(HOLD_MINUTES - 1), BILLING_POLL_MS: '50',
      BILLING_SETTLE_DELAY_MS: '300', EARNINGS_HOLD_DAYS: '0', PLATFORM_FEE_BPS: '1000',
    });
    ledger = new LedgerService(new LedgerRepository(h.t.db));
  }, 60000);
  afterAll(async () => {
    for (const c of clients) c.kill();
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    const r = redisClient();
    await dropRedisPrefix(r, prefix);
    r.disconnect();
    await h?.stop();
  });

  async function connect(url: string, token: string): Promise<SignalClient> {
    const c = await SignalClient.connect(url, token);
    clients.push(c);
    return c;
  }

  /**
   * A guest pays for a call whose hold cannot be extended (the incremental authorization and the
   * further intent are refused), the host on `hostUrl`, the guest on `guestUrl`, both joined.
   */
  async function unfundableCall(hostUrl: string, guestUrl: string) {
    const { t, proxy } = h;
    const host = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const link = await call(t, 'POST', '/v1/calls/links', { token: host.token, body: {} });
    const guest = await makeGuest(t);
    const joined = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(joined.status).toBe(201);
    const callId = joined.body.data.call.id as string;
    const faults: FaultHandle[] = [
      proxy.inject({ path: /\/increment_authorization$/, fault: { kind: 'increment_refused' } }),
      proxy.inject({ method: 'POST', path: '/v1/payment_intents', when: (form) => form.get('metadata[call_id]') === callId, fault: { kind: 'decline' } }),
    ];
    const hostGrant = await call(t, 'POST', `/v1/calls/${callId}/host-join`, { token: host.token });
    const g = await connect(guestUrl, joined.body.data.signaling.token);
    const hc = await connect(hostUrl, hostGrant.body.data.signaling.token);
    await Promise.all([g.join(), hc.join()]);
    await Promise.all([g, hc].map((c) => c.waitType('call-state', 10000, (f) => f.data.status === 'active')));
    // Both report media up as real clients do: the billing clock starts here.
    await Promise.all([g, hc].map((c) => c.request('media-state', { state: 'connected' })));
    return { callId, host, guest: g, hostSocket: hc, faults };
  }

  /** Both sockets got the final `call-state` with `reason` and were closed 4504. */
  async function expectEndedOnBoth(sockets: SignalClient[], reason: string, timeoutMs: number): Promise<void> {
    for (const c of sockets) {
      const state = await c.waitType('call-state', timeoutMs, (f) => f.data.status === 'ended');
      expect(state.data.end_reason).toBe(reason);
      expect((await c.closed).code).toBe(CLOSE_CODES.CALL_ENDED);
    }
  }

  /** Waits for settlement, then: exactly the hold's minutes billed and captured, nothing more, and a balanced ledger. */
  async function expectFundedMinutesCaptured(callId: string): Promise<void> {
    const { db } = h.t;
    const payment = await until(async () => {
      const p = await db.collection('payments').findOne({ call_id: callId });
      return p?.state === 'settled' ? p : null;
    }, 20000, 'payment settled');
    expect(payment).toMatchObject({ billed_minutes: HOLD_MINUTES, captured_minor: HOLD_MINUTES * RATE, written_off_minor: 0, exhausted: true });
    expect(await db.collection('billed_minutes').countDocuments({ call_id: callId, status: 'billed' })).toBe(HOLD_MINUTES);
    expect(await db.collection('calls').findOne({ _id: callId as never })).toMatchObject({ status: 'ended', end_reason: 'insufficient_funds' });
    await expectLedgerBalanced(ledger);
  }

  /** The guest's `funds-low` frames: at least one, counting down to 1; the host got none. */
  function expectWarnings(guest: SignalClient, host: SignalClient): void {
    const left = guest.frames.filter((f) => f.type === 'funds-low').map((f) => f.data.paid_minutes_left as number);
    expect(left.length).toBeGreaterThanOrEqual(1);
    expect(left.at(-1)).toBe(1);
    expect(left).toEqual([...left].sort((a, b) => b - a));
    expect(new Set(left).size).toBe(left.length);
    expect(left[0]).toBeLessThan(HOLD_MINUTES);
    expect(host.frames.filter((f) => f.type === 'funds-low')).toEqual([]);
  }

  describe('one signal node in the test process', () => {
    let node: SignalNode;
    let url: string;
    beforeAll(async () => {
      ({ node, url } = await startLocalNode({
        db: h.t.db, ring: h.t.keyRing, env: SIGNAL_ENV, minutes: new MongoMinuteStore(h.t.db), funding: new MongoFundingStore(h.t.db),
      }));
    }, 60000);
    afterAll(async () => {
      await node?.close();
    });

    it('warns the guest, then ends the call insufficient_funds for both peers; exactly the funded minutes are captured', async () => {
      const { callId, guest, hostSocket, faults } = await unfundableCall(url, url);
      try {
        await expectEndedOnBoth([guest, hostSocket], 'insufficient_funds', TICK_MS * (HOLD_MINUTES + 4) + 10000);
      } finally {
        for (const f of faults) f.remove();
      }
      expectWarnings(guest, hostSocket);
      await expectFundedMinutesCaptured(callId);
    }, 60000);
  });

  describe('two signal node processes on one Redis', () => {
    let a: Proc;
    let b: Proc;
    beforeAll(async () => {
      const env = {
        ...SIGNAL_ENV, REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, MONGO_URL: mongoUrl(), MONGO_DB: h.t.config.mongo.database,
        JWT_KEYS_DIR: h.t.config.auth.keysDir, SIGNAL_HEARTBEAT_MS: '200', SIGNAL_NODE_TTL_MS: '800', LOG_LEVEL: 'info',
      };
      [a, b] = await Promise.all([spawnNode({ ...env, NODE_ID: 'limits-a' }), spawnNode({ ...env, NODE_ID: 'limits-b' })]);
      procs.push(a, b);
    }, 90000);

    it('host on one node, guest on the other: the guest is warned and both get insufficient_funds; exactly the funded minutes are captured', async () => {
      const { callId, guest, hostSocket, faults } = await unfundableCall(a.url, b.url);
      try {
        await expectEndedOnBoth([guest, hostSocket], 'insufficient_funds', TICK_MS * (HOLD_MINUTES + 4) + 10000);
      } finally {
        for (const f of faults) f.remove();
      }
      expectWarnings(guest, hostSocket);
      await expectFundedMinutesCaptured(callId);
    }, 60000);

    it('a call past its maximum duration warns the peers on both nodes (call-ending), then ends max_duration for both', async () => {
      const store = new MongoCallStore(h.t.db);
      const c = await createCall(store, { max_duration_sec: 2 });
      const hostSocket = await connect(a.url, await peerToken(h.t.keyRing, c, 'host'));
      const guest = await connect(b.url, await peerToken(h.t.keyRing, c, 'guest'));
      await Promise.all([hostSocket.join(), guest.join()]);
      await guest.waitType('call-state', 10000, (f) => f.data.status === 'active');
      await expectEndedOnBoth([hostSocket, guest], 'max_duration', 15000);
      for (const c of [hostSocket, guest]) expect(c.frames.filter((f) => f.type === 'call-ending').map((f) => f.data.reason)).toEqual(['max_duration']);
      const stored = await store.get(c.id);
      expect(stored).toMatchObject({ status: 'ended', end_reason: 'max_duration' });
      expect(stored!.ended_at!.getTime() - stored!.answered_at!.getTime()).toBe(2000);
    }, 60000);
  });
});
