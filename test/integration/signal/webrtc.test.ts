import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RTCPeerConnection } from 'werift';
import { MongoCallStore } from '../../../shared/calls/index.js';
import type { SignalNode } from '../../../signal/main.js';
import { dropRedisPrefix, freshDb, mongoUrl, redisClient, redisUrl, uniqueName } from '../../helpers/services.js';
import { createCall, makeKeys, peerToken, spawnNode, startLocalNode, until } from '../../helpers/signal-cluster.js';
import { SignalClient } from '../../helpers/ws-client.js';
import { exchange, runPeer } from './webrtc-peer.js';

const keys = makeKeys();
const pcs: RTCPeerConnection[] = [];
const clients: SignalClient[] = [];

async function connectPeers(hostUrl: string, guestUrl: string, store: MongoCallStore): Promise<string> {
  const call = await createCall(store);
  const guest = await SignalClient.connect(guestUrl, await peerToken(keys.ring, call, 'guest'));
  const host = await SignalClient.connect(hostUrl, await peerToken(keys.ring, call, 'host'));
  clients.push(guest, host);
  const g = runPeer(guest, 'guest');
  await guest.join();
  await host.join();
  await host.waitType('call-state', 10000, (f) => f.data.status === 'active');
  const h = runPeer(host, 'host');
  pcs.push(g.pc, h.pc);
  const [hc, gc] = await Promise.all([h.channel, g.channel]);
  expect(guest.frames.filter((f) => f.type === 'offer')).toHaveLength(1);
  expect(guest.frames.filter((f) => f.type === 'peer-joined')).toHaveLength(1);
  expect(guest.frames.find((f) => f.type === 'offer')?.data.sdp).not.toMatch(/a=candidate:/);
  for (const side of [guest, host]) expect(side.frames.filter((f) => f.type === 'ice-candidate' && f.data.candidate).length).toBeGreaterThan(0);
  const reply = exchange(gc, hc, 'pong from guest');
  expect(await exchange(hc, gc, 'hello from host')).toBe('hello from host');
  // The peers' `connected` reports started the call's billing clock, after it became active.
  const stored = await until(async () => { const c = await store.get(call.id); return c?.media_up_at ? c : null; }, 10000, 'media up stored');
  expect(['host', 'guest']).toContain(stored.media_up_by);
  expect(stored.media_up_at!.getTime()).toBeGreaterThanOrEqual(stored.answered_at!.getTime());
  return reply;
}

afterAll(async () => {
  for (const c of clients) c.kill();
  await Promise.all(pcs.map((pc) => pc.close().catch(() => undefined)));
});

describe('two werift peers connect a data channel through our signaling', () => {
  it('on one node', async () => {
    const db = await freshDb('webrtc1');
    const prefix = uniqueName('rtc1');
    const { node, url, store } = await startLocalNode({ db: db.db, ring: keys.ring, env: { REDIS_URL: redisUrl(), REDIS_PREFIX: prefix } });
    try {
      expect(await connectPeers(url, url, store)).toBe('pong from guest');
    } finally {
      await node.close();
      await db.drop();
    }
  }, 60000);

  it('with each peer on a different node process', async () => {
    const db = await freshDb('webrtc2');
    const prefix = uniqueName('rtc2');
    const env = { REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, MONGO_URL: mongoUrl(), MONGO_DB: db.name, JWT_KEYS_DIR: keys.dir };
    const a = await spawnNode({ ...env, NODE_ID: 'rtc-a' });
    const b = await spawnNode({ ...env, NODE_ID: 'rtc-b' });
    try {
      expect(await connectPeers(a.url, b.url, new MongoCallStore(db.db))).toBe('pong from guest');
    } finally {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
      await Promise.all([a.exited, b.exited]);
      const r = redisClient();
      await dropRedisPrefix(r, prefix);
      r.disconnect();
      await db.drop();
    }
  }, 90000);
});
