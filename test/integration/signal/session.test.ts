import { beforeAll, describe, expect, it } from 'vitest';
import type { MongoCallStore } from '../../../shared/calls/index.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import { createCall, peerToken, until } from '../../helpers/signal-cluster.js';
import type { SignalNode } from '../../../signal/main.js';

describe('signaling on one node (Redis directory)', () => {
  const h = useSignalHarness('signal');
  const keys = h.keys;
  let node: SignalNode;
  let url: string;
  let store: MongoCallStore;
  const connect = (token: string) => h.connectWith(url, token);

  beforeAll(async () => {
    ({ node, url, store } = await h.local(h.redisEnv({ SIGNAL_RECONNECT_GRACE_MS: '3000', SIGNAL_SWEEP_MS: '100' })));
  });

  it('joins both peers, activates the call once, relays offer/answer/candidates, and ends on hangup', async () => {
    const call = await createCall(store);
    const states: string[] = [];
    const off = node.events.on('call-state', (e) => { if (e.callId === call.id) states.push(e.to); });
    const guest = await connect(await peerToken(keys.ring, call, 'guest'));
    expect(await guest.request('media-state', { state: 'connected' })).toMatchObject({ type: 'error', data: { code: 'forbidden' } });
    const gj = await guest.join();
    expect(gj.type).toBe('ack');
    expect(gj.data).toMatchObject({ protocol: 1, peer: 'guest', resumed: false, peers: [], call: { call_id: call.id, status: 'waiting' } });
    const host = await connect(await peerToken(keys.ring, call, 'host', {}), );
    const hj = await host.join();
    expect(hj.data.peers).toEqual([{ peer: 'guest', state: 'connected' }]);
    const joined = await guest.waitType('peer-joined');
    expect(joined.data).toEqual({ peer: 'host', resumed: false });
    const active = await host.waitType('call-state', 5000, (f) => f.data.status === 'active');
    await guest.waitType('call-state', 5000, (f) => f.data.status === 'active');
    expect(active.data.version).toBeGreaterThan(0);
    expect(states).toEqual(['active']);

    const ack = await host.request('offer', { sdp: 'v=0 offer' });
    expect(ack).toMatchObject({ type: 'ack', data: { delivered: 1 } });
    const offer = await guest.waitType('offer');
    expect(offer.data).toEqual({ from: 'host', sdp: 'v=0 offer' });
    guest.send({ type: 'answer', data: { sdp: 'v=0 answer' } });
    expect((await host.waitType('answer')).data).toEqual({ from: 'guest', sdp: 'v=0 answer' });
    guest.send({ type: 'ice-candidate', data: { candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } } });
    guest.send({ type: 'ice-candidate', data: { candidate: null } });
    const eoc = await host.waitType('ice-candidate', 5000, (f) => f.data.candidate === null);
    expect(eoc.data.from).toBe('guest');
    const seqs = host.frames.filter((f) => f.seq !== undefined).map((f) => f.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a! - b!));

    // Both report media up, as clients do; it is stored once, and no frame is sent for it.
    const mediaUps: string[] = [];
    const offMedia = node.events.on('media-up', (e) => { if (e.callId === call.id) mediaUps.push(e.by); });
    const framesBefore = host.frames.length;
    expect(await guest.request('media-state', { state: 'connected' })).toMatchObject({ type: 'ack' });
    expect(await host.request('media-state', { state: 'connected' })).toMatchObject({ type: 'ack' });
    const up = await until(async () => (await store.get(call.id))?.media_up_at ?? null, 5000, 'media up stored');
    expect(up.getTime()).toBeGreaterThanOrEqual((await store.get(call.id))!.answered_at!.getTime());
    expect(mediaUps).toHaveLength(1);
    expect(host.frames.slice(framesBefore).map((f) => f.type)).toEqual(['ack']);
    offMedia();

    const bye = await guest.request('hangup');
    expect(bye.type).toBe('ack');
    const ended = await host.waitType('call-state', 5000, (f) => f.data.status === 'ended');
    expect(ended.data.end_reason).toBe('hangup');
    expect((await host.waitClose()).code).toBe(CLOSE_CODES.CALL_ENDED);
    expect(await store.get(call.id)).toMatchObject({ status: 'ended', ended_by: 'guest' });
    expect(states).toEqual(['active', 'ended']);
    off();
  });

  it('keeps a dropped peer reconnecting, replays what it missed, and ends the call past the grace period', async () => {
    const call = await createCall(store);
    const guest = await connect(await peerToken(keys.ring, call, 'guest'));
    await guest.join();
    const host = await connect(await peerToken(keys.ring, call, 'host'));
    await host.join();
    await guest.waitType('call-state', 5000, (f) => f.data.status === 'active');
    host.send({ type: 'mute-state', data: { audio: false, video: true } });
    await guest.waitType('mute-state');
    const seenSeq = guest.lastSeq;
    guest.kill();
    const left = await host.waitType('peer-left');
    expect(left.data).toMatchObject({ peer: 'guest', reason: 'disconnected', reconnecting: true, grace_ms: 3000 });
    const a = await host.request('offer', { sdp: 'missed-1' });
    expect(a.type).toBe('ack');
    host.send({ type: 'ice-candidate', data: { candidate: null } });
    await host.request('ping'); // the node handles a socket's frames in order: the candidate is in

    const again = await connect(await peerToken(keys.ring, call, 'guest'));
    const replayed: string[] = [];
    again.onFrame = (f) => { if (f.seq && f.seq > seenSeq) replayed.push(f.type); };
    const rj = await again.join(seenSeq);
    expect(rj.data).toMatchObject({ resumed: true, replayed: 2, peers: [{ peer: 'host', state: 'connected' }] });
    await until(() => replayed.length >= 2);
    expect(replayed).toEqual(['offer', 'ice-candidate']);
    const back = await host.waitType('peer-joined', 5000, (f) => f.data.resumed === true);
    expect(back.data.peer).toBe('guest');
    expect((await store.get(call.id))?.status).toBe('active');

    again.kill();
    const ended = await host.waitType('call-state', 10000, (f) => f.data.status === 'ended');
    expect(ended.data.end_reason).toBe('failure');
    expect(await store.get(call.id)).toMatchObject({ end_reason: 'failure', ended_by: 'system' });
  });
  it('acks both hangups when both peers hang up at once, each before its call-state and close', async () => {
    for (let round = 0; round < 5; round += 1) {
      const call = await createCall(store);
      const guest = await connect(await peerToken(keys.ring, call, 'guest'));
      await guest.join();
      const host = await connect(await peerToken(keys.ring, call, 'host'));
      await host.join();
      await Promise.all([host, guest].map((c) => c.waitType('call-state', 5000, (f) => f.data.status === 'active')));
      host.send({ type: 'hangup', id: 'H' });
      guest.send({ type: 'hangup', id: 'G' });
      for (const [client, id] of [[host, 'H'], [guest, 'G']] as const) {
        expect((await client.waitClose()).code).toBe(CLOSE_CODES.CALL_ENDED);
        const reply = client.frames.findIndex((f) => f.id === id);
        const ended = client.frames.findIndex((f) => f.type === 'call-state' && f.data.status === 'ended');
        expect(client.frames[reply], `round ${round}, ${id}`).toMatchObject({ type: 'ack', id });
        expect(reply).toBeLessThan(ended);
        expect(client.frames[ended]!.data.end_reason).toBe('hangup');
      }
      // The race's loser answers from the winner's claim, before the winner has written the call.
      await until(async () => (await store.get(call.id))?.end_reason === 'hangup', 5000, 'the stored call ended by hangup');
    }
  });
  it('relays ice-restart, counts sockets and calls in /metrics, and declines the call on the host\'s hangup before it is active', async () => {
    const call = await createCall(store);
    const host = await connect(await peerToken(keys.ring, call, 'host'));
    await host.join();
    await host.waitType('call-state', 5000, (f) => f.data.status === 'ringing');
    const guest = await connect(await peerToken(keys.ring, call, 'guest'));
    const metric = async (name: string): Promise<string> => node.metrics.registry.getSingleMetricAsString(name);
    expect(Number(/^signal_sockets (\d+)$/m.exec(await metric('signal_sockets'))?.[1])).toBeGreaterThanOrEqual(2);
    expect(await metric('signal_calls')).toMatch(/^signal_calls\{status="ringing"\} [1-9]\d*$/m);

    await guest.join();
    await host.waitType('call-state', 5000, (f) => f.data.status === 'active');
    expect(await host.request('ice-restart', { sdp: 'v=0 restart' })).toMatchObject({ type: 'ack', data: { delivered: 1 } });
    expect((await guest.waitType('ice-restart')).data).toEqual({ from: 'host', sdp: 'v=0 restart' });
    guest.send({ type: 'ice-restart' });
    expect((await host.waitType('ice-restart')).data).toEqual({ from: 'guest' });
    expect(await metric('signal_calls')).toMatch(/^signal_calls\{status="active"\} [1-9]\d*$/m);
    guest.send({ type: 'hangup' });
    await host.waitClose();

    const unanswered = await createCall(store);
    const lonelyHost = await connect(await peerToken(keys.ring, unanswered, 'host'));
    await lonelyHost.join();
    expect((await lonelyHost.request('hangup')).type).toBe('ack');
    const declined = await lonelyHost.waitType('call-state', 5000, (f) => f.data.status === 'declined');
    expect(declined.data.end_reason).toBe('declined');
    expect((await lonelyHost.waitClose()).code).toBe(CLOSE_CODES.CALL_ENDED);
    expect((await store.get(unanswered.id))?.status).toBe('declined');
  });
});
