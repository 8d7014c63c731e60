import { beforeAll, describe, expect, it } from 'vitest';
import type { Call, Peer } from '../../../shared/calls/index.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import type { SignalClient } from '../../helpers/ws-client.js';

const GRACE_MS = 1500;

/**
 * Two in-process signal nodes (`<name>-a`, `<name>-b`) on one Redis prefix and a fresh database,
 * started before the enclosing describe block and stopped after it, with their clients.
 */
function nodePair(name: string, env: Record<string, string>) {
  const h = useSignalHarness(name);
  const nodes = h.nodes;
  /** A socket as `peer` of `call` on node `on` (0 or 1). */
  const connect = (on: 0 | 1, call: Call, peer: Peer) => h.connect(nodes[on]!.url, call, peer);

  beforeAll(async () => {
    const all = h.redisEnv({ SIGNAL_SWEEP_MS: '100', ...env });
    for (const id of [`${name}-a`, `${name}-b`]) await h.local({ ...all, NODE_ID: id });
  });

  /** A call with its guest (`oldGuest`, to be replaced) on node `guestOn` and its host on `hostOn`, both joined, active. */
  async function activeCall(guestOn: 0 | 1, hostOn: 0 | 1) {
    const { call, guest: oldGuest, host } = await h.activeCall(nodes[hostOn]!.url, nodes[guestOn]!.url, 5000);
    return { call, oldGuest, host, store: h.store };
  }

  return { nodes, connect, activeCall };
}

describe('a peer that joins again while its old socket is still open (close 4005)', () => {
  // No write-behind during a test: a frame sent to a replaced socket is in no replay buffer.
  const { connect, activeCall } = nodePair('replace', { SIGNAL_RECONNECT_GRACE_MS: String(GRACE_MS), SIGNAL_REPLAY_FLUSH_MS: '60000' });

  /** Host and guest on node A, the call active. */
  const activeOnA = () => activeCall(0, 0);

  /** `activeOnA`, then the guest joins again on `rejoinOn`. */
  async function replaceGuest(rejoinOn: 0 | 1) {
    const { call, oldGuest, host, store } = await activeOnA();
    const guest = await connect(rejoinOn, call, 'guest');
    const joined = await guest.join();
    expect(joined).toMatchObject({ type: 'ack', data: { peer: 'guest' } });
    expect((await oldGuest.waitClose()).code).toBe(CLOSE_CODES.REPLACED);
    return { call, host, guest, store };
  }

  async function expectRelayBothWays(host: SignalClient, guest: SignalClient, tag: string): Promise<void> {
    expect(await host.request('offer', { sdp: `offer ${tag}` })).toMatchObject({ type: 'ack', data: { delivered: 1 } });
    expect((await guest.waitType('offer', 5000, (f) => f.data.sdp === `offer ${tag}`)).data.from).toBe('host');
    guest.send({ type: 'answer', data: { sdp: `answer ${tag}` } });
    expect((await host.waitType('answer', 5000, (f) => f.data.sdp === `answer ${tag}`)).data.from).toBe('guest');
    expect(await host.request('renegotiate', { reason: tag })).toMatchObject({ type: 'ack', data: { delivered: 1 } });
    await guest.waitType('renegotiate', 5000, (f) => f.data.reason === tag);
  }

  // Across nodes the old node must route the peer's frames to the new node from then on.
  it.each([
    { where: 'the same node', node: 0 as const },
    { where: 'another node', node: 1 as const },
  ])('on $where: the new socket gets every frame, the other side is not told, the call goes on', async ({ where, node }) => {
    const { call, host, guest, store } = await replaceGuest(node);
    await expectRelayBothWays(host, guest, where);
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 500));
    await expectRelayBothWays(host, guest, `${where}, past the grace period`);
    expect(host.frames.filter((f) => f.type === 'peer-left')).toEqual([]);
    expect((await store.get(call.id))?.status).toBe('active');
  });

  // A network change that leaves the old socket half-open: the node still writes to it, the client
  // reads nothing. What it was sent in the last write-behind interval is in no replay buffer yet.
  it.each([
    { where: 'the same node', node: 0 as const },
    { where: 'another node', node: 1 as const },
  ])('on $where: a frame sent to the half-open old socket reaches the new one, and numbering goes on', async ({ where, node }) => {
    const { call, oldGuest, host } = await activeOnA();
    const seen = oldGuest.lastSeq;
    (oldGuest.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    expect(await host.request('offer', { sdp: `X ${where}` })).toMatchObject({ type: 'ack', data: { delivered: 1 } });
    const guest = await connect(node, call, 'guest');
    await guest.join(seen);
    await host.request('offer', { sdp: `Y ${where}` });
    const y = await guest.waitType('offer', 5000, (f) => f.data.sdp === `Y ${where}`);
    const x = await guest.waitType('offer', 5000, (f) => f.data.sdp === `X ${where}`);
    expect(x.seq).toBeGreaterThan(seen);
    await host.request('offer', { sdp: `Z ${where}` });
    await guest.waitType('offer', 5000, (f) => f.data.sdp === `Z ${where}`);
    expect(guest.frames.filter((f) => f.type === 'offer' && f.data.sdp === `X ${where}`)).toHaveLength(1);
    const seqs = guest.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq as number);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(y.seq).not.toBe(x.seq);
  });

  // The handed-back frames (`r`) take two Redis hops; a frame from a peer on the new node is there at once.
  it('on another node: frames handed back by the old node come before newer ones from a peer on the new node', async () => {
    const { call, oldGuest, host } = await activeCall(0, 1);
    const seen = oldGuest.lastSeq;
    (oldGuest.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    for (const n of [1, 2, 3]) expect(await host.request('offer', { sdp: `old ${n}` })).toMatchObject({ type: 'ack', data: { delivered: 1 } });
    const guest = await connect(1, call, 'guest');
    await guest.join(seen);
    for (const n of [1, 2, 3]) host.send({ type: 'offer', data: { sdp: `new ${n}` } });
    await guest.waitType('offer', 5000, (f) => f.data.sdp === 'new 3');
    await guest.waitType('offer', 5000, (f) => f.data.sdp === 'old 3');
    const offers = guest.frames.filter((f) => f.type === 'offer');
    expect(offers.map((f) => f.data.sdp)).toEqual(['old 1', 'old 2', 'old 3', 'new 1', 'new 2', 'new 3']);
    const seqs = offers.map((f) => f.seq as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(seqs[0]).toBeGreaterThan(seen);
  });
});

describe('a replaced socket\'s frames written to Redis between the new join and the kick', () => {
  // A short write-behind: the old node stores what its socket was sent while the kick is on its way.
  const { nodes, connect, activeCall } = nodePair('replacewin', { SIGNAL_REPLAY_FLUSH_MS: '50' });

  it('hands them back with the answer to the kick: the new socket gets each once, in order', async () => {
    const b = nodes[1]!;
    const { call, oldGuest, host } = await activeCall(0, 0);
    const seen = oldGuest.lastSeq;
    (oldGuest.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // Node b's kick reaches node a 300 ms late: six write-behind intervals of node a.
    const broker = b.node.broker;
    const publish = broker.publish.bind(broker);
    broker.publish = async (channel, payload) => {
      if (payload.startsWith('x\n')) await new Promise((r) => setTimeout(r, 300));
      return publish(channel, payload);
    };
    try {
      const guest = await connect(1, call, 'guest');
      const reply = await guest.join(seen);
      expect(reply.data).toMatchObject({ resumed: true, replayed: 0 });
      for (const n of [1, 2]) expect(await host.request('offer', { sdp: `window ${n}` })).toMatchObject({ type: 'ack', data: { delivered: 1 } });
      await guest.waitType('offer', 5000, (f) => f.data.sdp === 'window 2');
      await host.request('offer', { sdp: 'after' });
      await guest.waitType('offer', 5000, (f) => f.data.sdp === 'after');
      const offers = guest.frames.filter((f) => f.type === 'offer');
      expect(offers.map((f) => f.data.sdp)).toEqual(['window 1', 'window 2', 'after']);
      const seqs = offers.map((f) => f.seq as number);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    } finally {
      broker.publish = publish;
    }
  });
});
