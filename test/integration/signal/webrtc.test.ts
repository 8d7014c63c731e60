import { afterAll, describe, expect, it } from 'vitest';
import type { RTCPeerConnection } from 'werift';
import { until } from '../../helpers/signal-cluster.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import { exchange, runPeer } from './webrtc-peer.js';

const h = useSignalHarness('webrtc');
const pcs: RTCPeerConnection[] = [];

async function connectPeers(hostUrl: string, guestUrl: string): Promise<string> {
  const call = await h.call();
  const guest = await h.connect(guestUrl, call, 'guest');
  const host = await h.connect(hostUrl, call, 'host');
  const guestPeer = runPeer(guest, 'guest');
  await guest.join();
  await host.join();
  await host.waitType('call-state', 10000, (f) => f.data.status === 'active');
  const hostPeer = runPeer(host, 'host');
  pcs.push(guestPeer.pc, hostPeer.pc);
  const [hc, gc] = await Promise.all([hostPeer.channel, guestPeer.channel]);
  expect(guest.frames.filter((f) => f.type === 'offer')).toHaveLength(1);
  expect(guest.frames.filter((f) => f.type === 'peer-joined')).toHaveLength(1);
  expect(guest.frames.find((f) => f.type === 'offer')?.data.sdp).not.toMatch(/a=candidate:/);
  for (const side of [guest, host]) expect(side.frames.filter((f) => f.type === 'ice-candidate' && f.data.candidate).length).toBeGreaterThan(0);
  const reply = exchange(gc, hc, 'pong from guest');
  expect(await exchange(hc, gc, 'hello from host')).toBe('hello from host');
  // The peers' `connected` reports started the call's billing clock, after it became active.
  const stored = await until(async () => { const c = await h.store.get(call.id); return c?.media_up_at ? c : null; }, 10000, 'media up stored');
  expect(['host', 'guest']).toContain(stored.media_up_by);
  expect(stored.media_up_at!.getTime()).toBeGreaterThanOrEqual(stored.answered_at!.getTime());
  return reply;
}

afterAll(async () => {
  await Promise.all(pcs.map((pc) => pc.close().catch(() => undefined)));
});

describe('two werift peers connect a data channel through our signaling', () => {
  it('on one node', async () => {
    const { url } = await h.local(h.redisEnv());
    expect(await connectPeers(url, url)).toBe('pong from guest');
  }, 60000);

  it('with each peer on a different node process', async () => {
    const env = h.redisEnv({}, h.extraPrefix('rtc2'));
    const a = await h.spawn({ ...env, NODE_ID: 'rtc-a' });
    const b = await h.spawn({ ...env, NODE_ID: 'rtc-b' });
    expect(await connectPeers(a.url, b.url)).toBe('pong from guest');
  }, 90000);
});
