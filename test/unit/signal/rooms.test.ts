import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { MemoryBroker } from '../../../signal/broker/memory-broker.js';
import { HANDOVER_HOLD_MS } from '../../../signal/calls/handover.js';
import { SETTINGS, twoNodesOnFakeTime, type Client, type Cluster, type Node } from './rooms-harness.js';

/** Lets every pending promise and in-memory broker delivery run (setImmediate stays real). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Both peers joined on their nodes, the call active, and the frames of the set-up dropped. */
async function activeCall(cluster: Cluster, hostNode: Node, guestNode: Node): Promise<{ host: Client; guest: Client; callId: string }> {
  const call = await cluster.call();
  const host = hostNode.connect(call, 'host');
  const guest = guestNode.connect(call, 'guest');
  await host.join();
  await guest.join();
  await flush();
  return { host, guest, callId: call.id };
}

describe('rooms (in memory, fake time)', () => {
  let cluster: Cluster;
  let n1: Node;
  let n2: Node;

  beforeEach(async () => {
    ({ cluster, n1, n2 } = await twoNodesOnFakeTime());
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('join: the host rings the call, the guest activates it once; each gets the ack, the other peer and call-state', async () => {
    const call = await cluster.call();
    const host = n1.connect(call, 'host');
    await host.join(undefined, 'h1');
    expect(host.received[0]).toMatchObject({ type: 'ack', id: 'h1', data: { peer: 'host', resumed: false, replayed: 0, call: { status: 'waiting' } } });
    expect(host.frames('call-state').map((f) => f.data?.['status'])).toEqual(['ringing']);

    const guest = n1.connect(call, 'guest');
    await guest.join(undefined, 'g1');
    await flush();
    expect(guest.received[0]).toMatchObject({ type: 'ack', id: 'g1', data: { peers: [{ peer: 'host', state: 'connected' }] } });
    expect(host.frames('peer-joined')).toEqual([expect.objectContaining({ data: { peer: 'guest', resumed: false } })]);
    expect(host.frames('call-state').map((f) => f.data?.['status'])).toEqual(['ringing', 'active']);
    expect(guest.frames('call-state').map((f) => f.data?.['status'])).toEqual(['active']);
    expect(cluster.emitted['call-state'].map((e) => e.to)).toEqual(['ringing', 'active']);
    expect((await cluster.store.get(call.id))?.status).toBe('active');
  });

  it('refuses a second join on one socket, and a join to an ended call with 4504', async () => {
    const { host, callId } = await activeCall(cluster, n1, n1);
    await host.join(undefined, 'again');
    expect(host.received.at(-1)).toMatchObject({ type: 'error', id: 'again', data: { code: 'conflict' } });
    await cluster.store.transition(callId, 'ended');
    const late = n1.connect((await cluster.store.get(callId))!, 'guest');
    await late.join(undefined, 'x');
    expect(late.received).toEqual([expect.objectContaining({ type: 'error', id: 'x', data: expect.objectContaining({ code: 'gone' }) })]);
    expect(late.closedWith?.code).toBe(CLOSE_CODES.CALL_ENDED);
  });

  it('relay: same node synchronously (seq per peer, `to` dropped, `from` added); across nodes through the broker', async () => {
    const local = await activeCall(cluster, n1, n1);
    const before = local.guest.lastSeq;
    expect(local.host.relay('offer', { sdp: 'v=0', to: 'guest' })).toBe(1);
    expect(local.guest.received.at(-1)).toEqual({ seq: before + 1, type: 'offer', data: { from: 'host', sdp: 'v=0' } });

    const remote = await activeCall(cluster, n1, n2);
    const reached = remote.host.relay('ice-candidate', { candidate: null });
    expect(reached).toBeInstanceOf(Promise);
    expect(await reached).toBe(1);
    await flush();
    expect(remote.guest.frames('ice-candidate')).toEqual([expect.objectContaining({ data: { from: 'host', candidate: null } })]);
  });

  it('resume with replay: a dropped peer is reconnecting, gets what it missed after last_seq, and the other side is told', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n1);
    host.relay('offer', { sdp: 'first' });
    await n1.rooms.flushReplay();
    const lastSeq = guest.lastSeq;
    guest.close(1006, 'network');
    await flush();
    expect(host.frames('peer-left')).toEqual([expect.objectContaining({ data: { peer: 'guest', reason: 'disconnected', reconnecting: true, grace_ms: SETTINGS.reconnectGraceMs } })]);
    expect(cluster.emitted['peer-state'].at(-1)).toMatchObject({ peer: 'guest', state: 'reconnecting' });
    expect(await host.relay('offer', { sdp: 'missed' })).toBe(1);

    const back = n1.connect((await cluster.store.get(callId))!, 'guest');
    await back.join(lastSeq, 'r');
    await flush();
    expect(back.received[0]).toMatchObject({ type: 'ack', id: 'r', data: { resumed: true, replayed: 1 } });
    expect(back.received[1]).toMatchObject({ type: 'offer', seq: lastSeq + 1, data: { sdp: 'missed' } });
    expect(host.frames('peer-joined').at(-1)).toMatchObject({ data: { peer: 'guest', resumed: true } });
  });

  it('replace on the same node: the old socket closes 4005 and the new one gets every later frame; the other side is not told', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n1);
    const newer = n1.connect((await cluster.store.get(callId))!, 'guest');
    await newer.join(guest.lastSeq);
    expect(guest.closedWith?.code).toBe(CLOSE_CODES.REPLACED);
    host.relay('answer', { sdp: 'later' });
    expect(newer.frames('answer')).toHaveLength(1);
    expect(guest.frames('answer')).toHaveLength(0);
    await flush();
    expect(host.frames('peer-left')).toHaveLength(0);
  });

  it('replace on another node: the old node closes its socket (4005) and hands back; newer frames wait for the handback, not longer', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n1);
    host.relay('offer', { sdp: 'one' });
    const seen = guest.lastSeq - 1;
    const newer = n2.connect((await cluster.store.get(callId))!, 'guest');
    await newer.join(seen);
    await flush();
    expect(guest.closedWith?.code).toBe(CLOSE_CODES.REPLACED);
    // The offer the old socket got after `seen` comes back with the kick's answer.
    expect(newer.frames('offer').map((f) => f.data?.['sdp'])).toEqual(['one']);
    expect(await host.relay('offer', { sdp: 'two' })).toBe(1);
    await flush();
    expect(newer.frames('offer').map((f) => f.data?.['sdp'])).toEqual(['one', 'two']);
    expect(host.frames('peer-left')).toHaveLength(0);
  });

  it('replace on another node that hears the kick but never answers: newer frames are held for HANDOVER_HOLD_MS, then go', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n2);
    // n2 stops answering: its channel still has a listener (the kick is heard), which drops everything.
    await n2.broker.close();
    const silent = new MemoryBroker({ nodeId: 'n2', prefix: 't', hub: cluster.hub });
    await silent.subscribe(silent.nodeChannel('n2'), () => undefined);
    const n3 = await cluster.node('n3');
    const newer = n3.connect((await cluster.store.get(callId))!, 'guest');
    await newer.join(guest.lastSeq);
    await flush();
    expect(await host.relay('offer', { sdp: 'held' })).toBe(1);
    await flush();
    expect(newer.frames('offer')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(HANDOVER_HOLD_MS);
    expect(newer.frames('offer').map((f) => f.data?.['sdp'])).toEqual(['held']);
  });

  it('replace on another node that is gone: no node hears the kick, so nothing is held', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n2);
    await n2.broker.close();
    cluster.alive.delete('n2');
    const n3 = await cluster.node('n3');
    const newer = n3.connect((await cluster.store.get(callId))!, 'guest');
    await newer.join(guest.lastSeq);
    await flush();
    expect(await host.relay('offer', { sdp: 'now' })).toBe(1);
    await flush();
    expect(newer.frames('offer').map((f) => f.data?.['sdp'])).toEqual(['now']);
  });

  it('grace expiry: a peer that stays away past the grace period ends the active call (failure); the other socket closes 4504', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n1);
    guest.close(1006, 'network');
    await flush();
    await vi.advanceTimersByTimeAsync(SETTINGS.reconnectGraceMs - 100);
    await n1.sweep();
    expect((await cluster.store.get(callId))?.status).toBe('active');
    await vi.advanceTimersByTimeAsync(200);
    await n1.sweep();
    await flush();
    expect(await cluster.store.get(callId)).toMatchObject({ status: 'ended', end_reason: 'failure' });
    expect(host.frames('call-state').at(-1)).toMatchObject({ data: { status: 'ended', end_reason: 'failure' } });
    expect(host.closedWith?.code).toBe(CLOSE_CODES.CALL_ENDED);
    expect(cluster.emitted['call-state'].filter((e) => e.to === 'ended')).toHaveLength(1);
  });

  it('dead-node sweep: the peers of a node that stopped are marked reconnecting and the others told (node_failure)', async () => {
    const { host } = await activeCall(cluster, n1, n2);
    await n2.broker.close();
    cluster.alive.delete('n2');
    await n1.sweep();
    await flush();
    expect(host.frames('peer-left')).toEqual([expect.objectContaining({ data: expect.objectContaining({ peer: 'guest', reason: 'node_failure' }) })]);
  });

  it('ticks: one per elapsed minute of an active call, claimed by exactly one of the nodes holding it', async () => {
    const { callId, guest } = await activeCall(cluster, n1, n2);
    guest.mediaState('connected');
    await flush();
    await vi.advanceTimersByTimeAsync(SETTINGS.tickMs * 3 + 150);
    await n1.sweep();
    await n2.sweep();
    const ticks = cluster.emitted.tick.filter((t) => t.callId === callId);
    expect(ticks.map((t) => t.minute)).toEqual([1, 2, 3]);
    expect(ticks.every((t) => !t.late && t.reconnecting.length === 0)).toBe(true);
    await n1.sweep();
    await n2.sweep();
    expect(cluster.emitted.tick.filter((t) => t.callId === callId)).toHaveLength(3);
  });

  it('hangup: acks once the call is over, then both sides get call-state and close 4504', async () => {
    const { host, guest, callId } = await activeCall(cluster, n1, n2);
    await n1.rooms.hangup(host.session, 'bye');
    await flush();
    const ack = host.received.findIndex((f) => f.type === 'ack' && f.id === 'bye');
    const ended = host.received.findIndex((f) => f.type === 'call-state' && f.data?.['status'] === 'ended');
    expect(ack).toBeGreaterThanOrEqual(0);
    expect(ack).toBeLessThan(ended);
    expect(guest.frames('call-state').at(-1)).toMatchObject({ data: { status: 'ended', end_reason: 'hangup' } });
    expect(guest.closedWith?.code).toBe(CLOSE_CODES.CALL_ENDED);
    expect((await cluster.store.get(callId))?.status).toBe('ended');
  });
});
