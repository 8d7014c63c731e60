import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Call } from '../../../shared/calls/index.js';
import { SETTINGS, twoNodesOnFakeTime, type Client, type Cluster, type Node } from './rooms-harness.js';

const { tickMs: TICK, mediaReportGraceMs: GRACE } = SETTINGS;

/** Lets every pending promise and in-memory broker delivery run (setImmediate stays real). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** The billing clock: ticks count from media-up (the first `connected` report, or `active` after the grace). */
describe('billing clock from media-state (in memory, fake time)', () => {
  let cluster: Cluster;
  let n1: Node;
  let n2: Node;

  beforeEach(async () => {
    ({ cluster, n1, n2 } = await twoNodesOnFakeTime());
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Host on n1, guest on n2, both joined: the call is active at the returned time. */
  async function activeCall(): Promise<{ call: Call; host: Client; guest: Client; activeAt: number }> {
    const call = await cluster.call();
    const host = n1.connect(call, 'host');
    const guest = n2.connect(call, 'guest');
    await host.join();
    await guest.join();
    await flush();
    const stored = (await cluster.store.get(call.id))!;
    expect(stored.status).toBe('active');
    return { call, host, guest, activeAt: stored.answered_at!.getTime() };
  }

  /** Moves fake time to `t` (ms since the epoch), sweeping both nodes on the way as their timers would. */
  async function runUntil(t: number): Promise<void> {
    while (Date.now() < t) {
      await vi.advanceTimersByTimeAsync(Math.min(100, t - Date.now()));
      await n1.sweep();
      await n2.sweep();
      await flush();
    }
  }

  const ticksOf = (callId: string) => cluster.emitted.tick.filter((t) => t.callId === callId);

  it('emits no tick while no media is up, then counts minutes from the first connected report', async () => {
    const { call, guest, activeAt } = await activeCall();
    await runUntil(activeAt + 400);
    expect(ticksOf(call.id)).toEqual([]);
    guest.mediaState('connected', 'm1');
    await flush();
    expect(guest.frames('ack').map((f) => f.id)).toContain('m1');
    const origin = activeAt + 400;
    expect(await cluster.store.get(call.id)).toMatchObject({ status: 'active', media_up_at: new Date(origin), media_up_by: 'guest' });
    expect(cluster.emitted['media-up']).toEqual([{ callId: call.id, at: new Date(origin), by: 'guest', node: 'n2' }]);

    // A minute after `active` but not after media-up: nothing yet.
    await runUntil(activeAt + TICK + 200);
    expect(ticksOf(call.id)).toEqual([]);
    await runUntil(origin + 2 * TICK + 150);
    expect(ticksOf(call.id).map((t) => [t.minute, t.at.getTime()])).toEqual([[1, origin + TICK], [2, origin + 2 * TICK]]);
    expect(ticksOf(call.id).every((t) => !t.late && t.reconnecting.length === 0)).toBe(true);
  });

  it('starts the clock at active when no report came within the grace (silent clients pay as before)', async () => {
    const { call, activeAt } = await activeCall();
    await runUntil(activeAt + GRACE - 100);
    expect(ticksOf(call.id)).toEqual([]);
    expect((await cluster.store.get(call.id))!.media_up_at).toBeNull();
    await runUntil(activeAt + GRACE + 300);
    expect(await cluster.store.get(call.id)).toMatchObject({ media_up_at: new Date(activeAt), media_up_by: 'system' });
    expect(cluster.emitted['media-up']).toHaveLength(1);
    // The minute that ended during the grace is claimed at once, the next at its end.
    expect(ticksOf(call.id).map((t) => [t.minute, t.at.getTime()])).toEqual([[1, activeAt + TICK]]);
    await runUntil(activeAt + 3 * TICK + 150);
    expect(ticksOf(call.id).map((t) => t.minute)).toEqual([1, 2, 3]);
  });

  it('keeps the first report: later ones, from either peer or node, do not move the origin', async () => {
    const { call, host, guest, activeAt } = await activeCall();
    await runUntil(activeAt + 200);
    host.mediaState('connected');
    await flush();
    await runUntil(activeAt + 700);
    guest.mediaState('connected');
    host.mediaState('disconnected');
    host.mediaState('connected');
    await flush();
    expect(await cluster.store.get(call.id)).toMatchObject({ media_up_at: new Date(activeAt + 200), media_up_by: 'host' });
    expect(cluster.emitted['media-up']).toHaveLength(1);
    await runUntil(activeAt + 200 + TICK + 150);
    expect(ticksOf(call.id).map((t) => [t.minute, t.at.getTime()])).toEqual([[1, activeAt + 200 + TICK]]);
  });

  it('takes concurrent first reports on two nodes as one media-up', async () => {
    const { call, host, guest, activeAt } = await activeCall();
    await runUntil(activeAt + 300);
    host.mediaState('connected');
    guest.mediaState('connected');
    await flush();
    expect(cluster.emitted['media-up']).toHaveLength(1);
    const stored = (await cluster.store.get(call.id))!;
    expect(stored.media_up_at).toEqual(new Date(activeAt + 300));
    await runUntil(activeAt + 300 + 2 * TICK + 150);
    expect(ticksOf(call.id).map((t) => t.minute)).toEqual([1, 2]);
  });

  it('counts a report sent before active as active, and one after the grace as no report', async () => {
    const early = await cluster.call();
    const host = n1.connect(early, 'host');
    await host.join();
    host.mediaState('connected');
    await runUntil(Date.now() + 300);
    const guest = n2.connect(early, 'guest');
    await guest.join();
    await flush();
    const activeAt = (await cluster.store.get(early.id))!.answered_at!.getTime();
    expect(await cluster.store.get(early.id)).toMatchObject({ status: 'active', media_up_at: new Date(activeAt), media_up_by: 'host' });

    const late = await cluster.call();
    const h2 = n1.connect(late, 'host');
    const g2 = n1.connect(late, 'guest');
    await h2.join();
    await g2.join();
    await flush();
    const lateActiveAt = (await cluster.store.get(late.id))!.answered_at!.getTime();
    // Past the grace with no sweep in between (a busy node): the report does not move the clock later.
    await vi.advanceTimersByTimeAsync(GRACE + 400);
    g2.mediaState('connected');
    await flush();
    expect(await cluster.store.get(late.id)).toMatchObject({ media_up_at: new Date(lateActiveAt), media_up_by: 'system' });
  });

  it('leaves a call that ends before media-up without ticks and records who ended it', async () => {
    const { call, guest, activeAt } = await activeCall();
    await runUntil(activeAt + 500);
    await n2.rooms.hangup(guest.session, 'bye');
    await flush();
    expect(await cluster.store.get(call.id)).toMatchObject({ status: 'ended', end_reason: 'hangup', ended_by: 'guest', media_up_at: null });
    await runUntil(activeAt + GRACE + 2 * TICK);
    expect(ticksOf(call.id)).toEqual([]);
    expect(cluster.emitted['media-up']).toEqual([]);
  });

  it('records system as the ender when the reconnect grace runs out', async () => {
    const { call, guest, activeAt } = await activeCall();
    guest.mediaState('connected');
    await flush();
    guest.close(1006, 'gone');
    await runUntil(activeAt + SETTINGS.reconnectGraceMs + 500);
    expect(await cluster.store.get(call.id)).toMatchObject({ status: 'ended', end_reason: 'failure', ended_by: 'system' });
  });

  it('sends no call-state for the media-up write and keeps the join reply current', async () => {
    const { call, host, guest } = await activeCall();
    const before = host.frames('call-state').length;
    guest.mediaState('connected');
    await flush();
    expect(host.frames('call-state')).toHaveLength(before);
    const again = n1.connect(call, 'host');
    await again.join(host.lastSeq, 'rj');
    expect(again.received[0]).toMatchObject({ type: 'ack', id: 'rj', data: { call: { status: 'active', version: 3 } } });
  });
});
