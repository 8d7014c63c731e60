import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CallFunding } from '../../../shared/billing/index.js';
import type { Call } from '../../../shared/calls/index.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { paidMinutesLeft } from '../../../signal/calls/funding.js';
import { SETTINGS, twoNodesOnFakeTime, type Client, type Cluster, type Node } from './rooms-harness.js';

/** Lets every pending promise and in-memory broker delivery run (setImmediate stays real). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Both peers joined on their nodes and the call active. */
async function activeCall(cluster: Cluster, hostNode: Node, guestNode: Node, overrides: Partial<Call> = {}): Promise<{ host: Client; guest: Client; callId: string }> {
  const call = await cluster.call('waiting', overrides);
  const host = hostNode.connect(call, 'host');
  const guest = guestNode.connect(call, 'guest');
  await host.join();
  await guest.join();
  await flush();
  // Media up at once, as real clients report it: the billing clock starts with the call.
  guest.mediaState('connected');
  await flush();
  return { host, guest, callId: call.id };
}

/** Advances fake time by `ms`, then sweeps `nodes` (as their timers would) and lets the work they started run. */
async function pass(ms: number, ...nodes: Node[]): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  for (const node of nodes) await node.sweep();
  await flush();
}

/** The `end_reason` of the last `call-state` a client got. */
const lastState = (c: Client): unknown => c.frames('call-state').at(-1)?.data;

function funding(record: Partial<CallFunding>): CallFunding {
  return { callId: 'c', paidMinutesLeft: 0, exhausted: true, throughMinute: 0, updatedAt: new Date(0), ...record };
}

describe('paidMinutesLeft', () => {
  it('trusts the record while the hold may still be extended', () => {
    expect(paidMinutesLeft(funding({ paidMinutesLeft: 2, exhausted: false, throughMinute: 1 }), 5, new Set())).toBe(2);
  });
  it('once exhausted, counts the minutes billing has not applied yet, except those with a peer reconnecting', () => {
    const f = funding({ paidMinutesLeft: 3, throughMinute: 1 });
    expect(paidMinutesLeft(f, 1, new Set())).toBe(3);
    expect(paidMinutesLeft(f, 3, new Set())).toBe(1);
    expect(paidMinutesLeft(f, 3, new Set([2]))).toBe(2);
    expect(paidMinutesLeft(f, 5, new Set())).toBe(-1);
  });
});

describe('running out of paid minutes (in memory, fake time)', () => {
  let cluster: Cluster;
  let n1: Node;
  let n2: Node;

  beforeEach(async () => {
    ({ cluster, n1, n2 } = await twoNodesOnFakeTime());
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('warns the guest with the minutes left when the hold is exhausted and at one, then ends the call insufficient_funds on both nodes', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n2);
    cluster.funding.set(callId, { paidMinutesLeft: 4, exhausted: false, throughMinute: 0 });
    await pass(SETTINGS.tickMs + 150, n1, n2);
    expect(guest.frames('funds-low')).toEqual([]);
    // Billing applied minute 1 and could not extend the hold; it writes nothing more (it lags behind).
    cluster.funding.set(callId, { paidMinutesLeft: 3, exhausted: true, throughMinute: 1 });
    await pass(SETTINGS.tickMs, n1, n2);
    expect(guest.frames('funds-low').map((f) => f.data)).toEqual([{ paid_minutes_left: 2 }]);
    await pass(SETTINGS.tickMs, n1, n2);
    expect(guest.frames('funds-low').map((f) => f.data)).toEqual([{ paid_minutes_left: 2 }, { paid_minutes_left: 1 }]);
    expect((await cluster.store.get(callId))?.status).toBe('active');

    await pass(SETTINGS.tickMs, n1, n2);
    expect(await cluster.store.get(callId)).toMatchObject({ status: 'ended', end_reason: 'insufficient_funds' });
    for (const c of [host, guest]) {
      expect(lastState(c)).toMatchObject({ status: 'ended', end_reason: 'insufficient_funds' });
      expect(c.closedWith?.code).toBe(CLOSE_CODES.CALL_ENDED);
    }
    expect(host.frames('funds-low')).toEqual([]);
    expect(cluster.emitted['call-state'].filter((e) => e.to === 'ended')).toHaveLength(1);
    expect(cluster.emitted.tick.filter((t) => t.callId === callId).map((t) => t.minute)).toEqual([1, 2, 3, 4]);
  });

  it('a free call (no funding record) is read once and never ends for funds', async () => {
    const { callId } = await activeCall(cluster, n1, n1);
    await pass(SETTINGS.tickMs + 150, n1);
    await pass(SETTINGS.tickMs * 3, n1);
    expect(cluster.funding.reads.get(callId)).toBe(1);
    expect((await cluster.store.get(callId))?.status).toBe('active');
  });

  it('ends at zero paid minutes also when the hold is not exhausted (Stripe unreachable while extending), after warning at one', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n1);
    cluster.funding.set(callId, { paidMinutesLeft: 1, exhausted: false, throughMinute: 0 });
    await pass(SETTINGS.tickMs + 150, n1);
    expect(guest.frames('funds-low').map((f) => f.data)).toEqual([{ paid_minutes_left: 1 }]);
    cluster.funding.set(callId, { paidMinutesLeft: 0, exhausted: false, throughMinute: 1 });
    await pass(SETTINGS.tickMs, n1);
    expect(lastState(host)).toMatchObject({ status: 'ended', end_reason: 'insufficient_funds' });
  });

  it('a funding read that fails is retried at the next tick', async () => {
    const { guest, callId } = await activeCall(cluster, n1, n1);
    cluster.funding.set(callId, { paidMinutesLeft: 0, exhausted: true, throughMinute: 0 });
    cluster.funding.failing = true;
    await pass(SETTINGS.tickMs + 150, n1);
    expect((await cluster.store.get(callId))?.status).toBe('active');
    cluster.funding.failing = false;
    await pass(SETTINGS.tickMs, n1);
    expect(lastState(guest)).toMatchObject({ status: 'ended', end_reason: 'insufficient_funds' });
  });

  it('the holding node dies: the node the peers resume on counts on and ends the call', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n1);
    cluster.funding.set(callId, { paidMinutesLeft: 2, exhausted: true, throughMinute: 0 });
    await pass(SETTINGS.tickMs + 150, n1);
    expect(guest.frames('funds-low').map((f) => f.data)).toEqual([{ paid_minutes_left: 1 }]);
    await n1.broker.close();
    cluster.alive.delete('n1');
    const call = (await cluster.store.get(callId))!;
    const guest2 = n2.connect(call, 'guest');
    const host2 = n2.connect(call, 'host');
    await guest2.join(guest.lastSeq);
    await host2.join(host.lastSeq);
    await flush();
    await pass(SETTINGS.tickMs, n2);
    expect(await cluster.store.get(callId)).toMatchObject({ status: 'ended', end_reason: 'insufficient_funds' });
    for (const c of [host2, guest2]) expect(lastState(c)).toMatchObject({ status: 'ended', end_reason: 'insufficient_funds' });
  });
});

describe('maximum duration (in memory, fake time)', () => {
  let cluster: Cluster;
  let n1: Node;
  let n2: Node;

  beforeEach(async () => {
    ({ cluster, n1, n2 } = await twoNodesOnFakeTime({ ...SETTINGS, maxDurationSec: 5 }));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends an active call max_duration at its stored maximum duration, once, for peers on both nodes; its minutes up to then are counted', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n2, { max_duration_sec: 3 });
    const endsAt = (await cluster.store.get(callId))!.answered_at!.getTime() + 3_000;
    await pass(2_000 - 100, n1, n2);
    expect(guest.frames('call-ending')).toEqual([]);
    await pass(250, n1, n2);
    for (const c of [host, guest]) expect(c.frames('call-ending').map((f) => f.data)).toEqual([{ reason: 'max_duration', ends_at: endsAt }]);
    await pass(1_000 - 250, n1, n2);
    expect((await cluster.store.get(callId))?.status).toBe('active');
    await pass(250, n1, n2);
    expect(await cluster.store.get(callId)).toMatchObject({ status: 'ended', end_reason: 'max_duration', ended_at: new Date(endsAt) });
    for (const c of [host, guest]) {
      expect(lastState(c)).toMatchObject({ status: 'ended', end_reason: 'max_duration' });
      expect(c.closedWith?.code).toBe(CLOSE_CODES.CALL_ENDED);
      expect(c.frames('call-ending')).toHaveLength(1);
    }
    expect(cluster.emitted['call-state'].filter((e) => e.to === 'ended')).toHaveLength(1);
    expect(cluster.emitted.tick.filter((t) => t.callId === callId).map((t) => t.minute)).toEqual([1, 2, 3]);
  });

  it('a call with no stored maximum takes the node\'s CALL_MAX_DURATION_SEC', async () => {
    const { host, callId } = await activeCall(cluster, n1, n1);
    await pass(4_900, n1);
    expect((await cluster.store.get(callId))?.status).toBe('active');
    await pass(250, n1);
    expect(lastState(host)).toMatchObject({ status: 'ended', end_reason: 'max_duration' });
  });

  it('counts from the call becoming active, not from its creation', async () => {
    const call = await cluster.call('waiting', { max_duration_sec: 2 });
    const host = n1.connect(call, 'host');
    await host.join();
    await pass(3_000, n1);
    const guest = n1.connect(call, 'guest');
    await guest.join();
    await flush();
    await pass(1_500, n1);
    expect((await cluster.store.get(call.id))?.status).toBe('active');
    await pass(700, n1);
    expect(lastState(guest)).toMatchObject({ status: 'ended', end_reason: 'max_duration' });
  });

  it('the node holding the host dies: the guest\'s node ends the call at the deadline', async () => {
    const { guest, callId } = await activeCall(cluster, n1, n2, { max_duration_sec: 2 });
    await n1.broker.close();
    cluster.alive.delete('n1');
    await pass(500, n2);
    expect(guest.frames('peer-left')).toEqual([expect.objectContaining({ data: expect.objectContaining({ peer: 'host', reason: 'node_failure' }) })]);
    // Before the host's grace period (2 s from its node's death) runs out.
    await pass(1_650, n2);
    expect(await cluster.store.get(callId)).toMatchObject({ status: 'ended', end_reason: 'max_duration' });
    expect(lastState(guest)).toMatchObject({ status: 'ended', end_reason: 'max_duration' });
  });

  it('a socket that joins within the last minute gets call-ending at the next sweep; one that had it gets none again', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n1, { max_duration_sec: 3 });
    await pass(2_200, n1);
    expect(guest.frames('call-ending')).toHaveLength(1);
    guest.close(1006, 'network');
    await flush();
    const back = n1.connect((await cluster.store.get(callId))!, 'guest');
    await back.join(guest.lastSeq);
    await flush();
    await pass(200, n1);
    expect(back.frames('call-ending')).toHaveLength(1);
    expect(host.frames('call-ending')).toHaveLength(1);
  });

  it('the node holding both peers dies before the deadline: the node a peer resumes on after it ends the call at its next sweep', async () => {
    const { guest, callId } = await activeCall(cluster, n1, n1, { max_duration_sec: 3 });
    await pass(1_000, n1);
    await n1.broker.close();
    cluster.alive.delete('n1');
    await vi.advanceTimersByTimeAsync(2_500);
    const resumed = n2.connect((await cluster.store.get(callId))!, 'guest');
    await resumed.join(guest.lastSeq);
    await flush();
    expect((await cluster.store.get(callId))?.status).toBe('active');
    await pass(SETTINGS.tickMs / 10, n2);
    const ended = (await cluster.store.get(callId))!;
    expect(ended).toMatchObject({ status: 'ended', end_reason: 'max_duration' });
    // Ended as of the deadline, though a node got to it only later: the minute after it is never billed.
    expect(ended.ended_at!.getTime() - ended.answered_at!.getTime()).toBe(3_000);
    expect(lastState(resumed)).toMatchObject({ status: 'ended', end_reason: 'max_duration' });
  });
});
