import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerRepository } from '../../../api/repositories/ledger.js';
import { Accounts } from '../../../api/services/payments/accounts.js';
import { LedgerService } from '../../../api/services/payments/ledger.js';
import { MongoMinuteStore } from '../../../shared/billing/index.js';
import type { SignalNode } from '../../../signal/main.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { expectLedgerBalanced } from '../../helpers/ledger.js';
import { until } from '../../helpers/poll.js';
import { startLocalNode } from '../../helpers/signal-cluster.js';
import { startStripeMock, STRIPE_TEST_KEY, type StripeMock } from '../../helpers/stripe-mock.js';
import { SignalClient } from '../../helpers/ws-client.js';
import { call, makeGuest, makeHost } from '../users/fixtures.js';

const RATE = 300;
const FEE_BPS = 1000;
const MINUTES = 3;

/**
 * The whole path with real parts: a guest pays over HTTP, both peers join a real signal node
 * over WebSocket, the node's ticks (short SIGNAL_TICK_MS) reach the minute store, the API's
 * worker bills them, and the hangup captures exactly the billed minutes on stripe-mock.
 */
describe('billing with a real signal node', () => {
  let mock: StripeMock;
  let t: TestApi;
  let node: SignalNode;
  let url: string;
  const clients: SignalClient[] = [];

  beforeAll(async () => {
    mock = await startStripeMock();
    t = await startTestApi({
      env: {
        STRIPE_SECRET_KEY: STRIPE_TEST_KEY, STRIPE_API_BASE: mock.url, PLATFORM_FEE_BPS: String(FEE_BPS), BILLING_HOLD_MINUTES: '2',
        BILLING_EXTEND_AT_MINUTES: '1', BILLING_POLL_MS: '50', BILLING_SETTLE_DELAY_MS: '300', EARNINGS_HOLD_DAYS: '0',
      },
    });
    ({ node, url } = await startLocalNode({ db: t.db, ring: t.keyRing, env: { SIGNAL_TICK_MS: '400', SIGNAL_SWEEP_MS: '100' }, minutes: new MongoMinuteStore(t.db) }));
  }, 60000);
  afterAll(async () => {
    for (const c of clients) c.kill();
    await node?.close();
    await t?.stop();
    await mock?.stop();
  });

  it(`bills the ticks of a live call and captures exactly them at hangup (≥ ${MINUTES} minutes)`, async () => {
    const host = await makeHost(t, { rate: { amount: RATE, currency: 'USD' } });
    const link = await call(t, 'POST', '/v1/calls/links', { token: host.token, body: {} });
    const guest = await makeGuest(t);
    const joined = await call(t, 'POST', `/v1/calls/join/${link.body.data.short_code}`, { token: guest.token, body: { payment_method_id: 'pm_card_visa' } });
    expect(joined.status).toBe(201);
    const callId = joined.body.data.call.id as string;
    const hostGrant = await call(t, 'POST', `/v1/calls/${callId}/host-join`, { token: host.token });
    const g = await SignalClient.connect(url, joined.body.data.signaling.token);
    const h = await SignalClient.connect(url, hostGrant.body.data.signaling.token);
    clients.push(g, h);
    await Promise.all([g.join(), h.join()]);
    await Promise.all([g, h].map((c) => c.waitType('call-state', 10000, (f) => f.data.status === 'active')));
    await until(async () => (await t.db.collection('billed_minutes').countDocuments({ call_id: callId, status: 'billed' })) >= MINUTES, 20000, `${MINUTES} minutes billed`);
    expect((await call(t, 'POST', `/v1/calls/${callId}/end`, { token: host.token })).status).toBe(200);
    const payment = await until(async () => {
      const p = await t.db.collection('payments').findOne({ call_id: callId });
      return p?.state === 'settled' && p.released_at ? p : null; // EARNINGS_HOLD_DAYS=0: released at the next pass
    }, 20000, 'payment settled');
    const billed = await t.db.collection('billed_minutes').countDocuments({ call_id: callId, status: 'billed' });
    const ticks = await t.db.collection('minute_ticks').countDocuments({ call_id: callId });
    expect(billed).toBeGreaterThanOrEqual(MINUTES);
    expect(billed).toBeLessThanOrEqual(ticks);
    const fee = Math.floor((RATE * FEE_BPS) / 10000);
    expect(payment).toMatchObject({ billed_minutes: billed, captured_minor: billed * RATE, net_minor: billed * (RATE - fee), written_off_minor: 0 });
    const ledger = new LedgerService(new LedgerRepository(t.db));
    expect(await ledger.balance(Accounts.hostAvailable(host.user.id), 'USD')).toBe(-billed * (RATE - fee));
    expect(await ledger.balance(Accounts.platformFees, 'USD')).toBeLessThanOrEqual(-billed * fee);
    await expectLedgerBalanced(ledger);
  }, 60000);
});
