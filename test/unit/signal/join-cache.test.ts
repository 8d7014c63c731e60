import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CALL_CACHE_TTL_MS, announcementOf, callsChannelName, type Call } from '../../../shared/calls/index.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { MemoryBroker } from '../../../signal/broker/memory-broker.js';
import { Cluster, FAKE_TIMERS, type Node } from './rooms-harness.js';

/** Lets every pending promise and in-memory broker delivery run (setImmediate stays real). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Joins read the call from the cache every writer of calls writes (in memory here, as without Redis). */
describe('join with the call cache (in memory, fake time)', () => {
  let cluster: Cluster;
  let n1: Node;
  let api: MemoryBroker;

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: [...FAKE_TIMERS] });
    cluster = new Cluster(undefined, { withCallCache: true });
    n1 = await cluster.node('n1');
    api = new MemoryBroker({ nodeId: 'api', prefix: 't', hub: cluster.hub });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** What the API does on `/end`: the store's transition (cache written first), then the announcement. */
  async function apiEnds(call: Call, announce = true): Promise<void> {
    const { call: ended } = await cluster.api.transition(call.id, 'ended', { reason: 'hangup' });
    if (announce) await api.publish(callsChannelName('t'), JSON.stringify(announcementOf(ended)));
    await flush();
  }

  it('hit: both joins are served from the cache without reading the store; the activation is made once and cached', async () => {
    const call = await cluster.call('ringing');
    const get = vi.spyOn(cluster.store, 'get');
    const host = n1.connect(call, 'host');
    const guest = n1.connect(call, 'guest');
    await host.join(undefined, 'h');
    await guest.join(undefined, 'g');
    await flush();
    expect(host.received[0]).toMatchObject({ type: 'ack', id: 'h', data: { call: { status: 'ringing' } } });
    expect(guest.received[0]).toMatchObject({ type: 'ack', id: 'g', data: { peers: [{ peer: 'host', state: 'connected' }] } });
    expect(get).not.toHaveBeenCalled();
    expect(n1.metrics.joinLookups).toEqual({ cache: 2, store: 0 });
    for (const c of [host, guest]) expect(c.frames('call-state').map((f) => f.data?.['status'])).toEqual(['active']);
    expect(cluster.emitted['call-state'].filter((e) => e.to === 'active')).toHaveLength(1);
    expect((await cluster.store.get(call.id))?.status).toBe('active');
    expect((await cluster.cache!.get(call.id))?.status).toBe('active');
  });

  it('miss: a call not cached is read from the store once and cached for the next join', async () => {
    const at = new Date();
    const call = await cluster.store.create({ ...(await cluster.call('ringing')), id: 'c_not_cached', created_at: at, updated_at: at });
    const get = vi.spyOn(cluster.store, 'get');
    await n1.connect(call, 'host').join();
    expect(get).toHaveBeenCalledTimes(1);
    await flush();
    await n1.connect(call, 'guest').join();
    await flush();
    expect(get).toHaveBeenCalledTimes(1);
    expect(n1.metrics.joinLookups).toEqual({ cache: 1, store: 1 });
    expect((await cluster.store.get(call.id))?.status).toBe('active');
  });

  it('expired: past its lifetime a cached call is read from the store again', async () => {
    const call = await cluster.call('ringing');
    vi.setSystemTime(Date.now() + CALL_CACHE_TTL_MS + 1);
    await n1.connect(call, 'host').join();
    expect(n1.metrics.joinLookups).toEqual({ cache: 0, store: 1 });
  });

  it('ended by the API: the cache has the end before the announcement, so a join is refused either way', async () => {
    const call = await cluster.call('ringing');
    const host = n1.connect(call, 'host');
    await host.join();
    await apiEnds(call, false);
    const early = n1.connect(call, 'guest');
    await early.join(undefined, 'x');
    expect(early.received).toEqual([expect.objectContaining({ type: 'error', id: 'x', data: expect.objectContaining({ code: 'gone' }) })]);
    expect(early.closedWith?.code).toBe(CLOSE_CODES.CALL_ENDED);

    await api.publish(callsChannelName('t'), JSON.stringify(announcementOf((await cluster.store.get(call.id))!)));
    await flush();
    expect(host.frames('call-state').map((f) => f.data?.['status'])).toEqual(['ended']);
    expect(host.closedWith?.code).toBe(CLOSE_CODES.CALL_ENDED);
    const get = vi.spyOn(cluster.store, 'get');
    const late = n1.connect(call, 'host');
    await late.join(undefined, 'y');
    expect(late.received).toEqual([expect.objectContaining({ type: 'error', id: 'y', data: expect.objectContaining({ code: 'gone' }) })]);
    expect(get).not.toHaveBeenCalled();
  });

  it('stale (a cache write lost): the joins are let in, the activation is refused by the store, and its re-read closes both sockets and repairs the cache', async () => {
    const call = await cluster.call('ringing');
    // Ended in the store behind the cache, as if the writer's cache write had failed.
    await cluster.store.transition(call.id, 'ended', { reason: 'hangup' });
    const host = n1.connect(call, 'host');
    const guest = n1.connect(call, 'guest');
    await host.join();
    await guest.join();
    await flush();
    for (const c of [host, guest]) {
      expect(c.received[0]?.type).toBe('ack');
      expect(c.frames('call-state').map((f) => f.data?.['status'])).toEqual(['ended']);
      expect(c.closedWith?.code).toBe(CLOSE_CODES.CALL_ENDED);
    }
    expect(cluster.emitted['call-state'].filter((e) => e.to === 'active')).toEqual([]);
    expect((await cluster.store.get(call.id))?.status).toBe('ended');
    expect((await cluster.cache!.get(call.id))?.status).toBe('ended');
    const late = n1.connect(call, 'guest');
    await late.join(undefined, 'z');
    expect(late.received).toEqual([expect.objectContaining({ type: 'error', id: 'z', data: expect.objectContaining({ code: 'gone' }) })]);
  });

  it('the signal tier\'s own transitions reach the cache: a hangup leaves the call ended there', async () => {
    const call = await cluster.call('ringing');
    const host = n1.connect(call, 'host');
    const guest = n1.connect(call, 'guest');
    await host.join();
    await guest.join();
    await flush();
    await n1.rooms.hangup(host.session, 'bye');
    await flush();
    expect(host.received).toContainEqual(expect.objectContaining({ type: 'ack', id: 'bye' }));
    expect((await cluster.cache!.get(call.id))).toMatchObject({ status: 'ended', end_reason: 'hangup' });
    expect((await cluster.store.get(call.id))?.status).toBe('ended');
  });
});
