import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call, MongoCallStore } from '../../../shared/calls/index.js';
import { spawnRedis, type SpawnedRedis } from '../../../shared/runtime/redis-server.js';
import type { SignalNode } from '../../../signal/main.js';
import { freshDb, uniqueName } from '../../helpers/services.js';
import { createCall, makeKeys, peerToken, startLocalNode, until } from '../../helpers/signal-cluster.js';
import { SignalClient } from '../../helpers/ws-client.js';

/** Redis that goes away or hangs (SIGSTOP: commands time out on the node, then run when it resumes), on a private server. */
const GRACE_MS = 3000;
const keys = makeKeys();
const prefix = uniqueName('stall');
let redis: SpawnedRedis;
let db: Awaited<ReturnType<typeof freshDb>>;
const nodes: Array<{ node: SignalNode; url: string; store: MongoCallStore }> = [];
const clients: SignalClient[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const redisPid = () => redis.server.process.pid!;

async function joined(nodeIndex: number, call: Call, peer: 'host' | 'guest', lastSeq?: number): Promise<SignalClient> {
  const c = await SignalClient.connect(nodes[nodeIndex]!.url, await peerToken(keys.ring, call, peer));
  clients.push(c);
  await c.join(lastSeq);
  return c;
}

async function activeCall(hostNode: number, guestNode: number) {
  const call = await createCall(nodes[0]!.store);
  const guest = await joined(guestNode, call, 'guest');
  const host = await joined(hostNode, call, 'host');
  await Promise.all([guest, host].map((c) => c.waitType('call-state', 5000, (f) => f.data.status === 'active')));
  return { call, guest, host };
}

/** The guest has seen everything so far, then its socket goes half-open (it reads nothing more). */
async function guestStopsReading(host: SignalClient, guest: SignalClient): Promise<number> {
  await host.request('offer', { sdp: 'before' });
  await guest.waitType('offer', 5000, (f) => f.data.sdp === 'before');
  await sleep(500); // past the write-behind: everything so far is in Redis
  (guest.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  return guest.lastSeq;
}

/** Runs `during` with the Redis server stopped (SIGSTOP), and resumes it (SIGCONT) however that ends. */
async function whileRedisHangs(during: () => Promise<void>): Promise<void> {
  process.kill(redisPid(), 'SIGSTOP');
  try {
    await during();
  } finally {
    process.kill(redisPid(), 'SIGCONT');
  }
}

beforeAll(async () => {
  redis = await spawnRedis();
  db = await freshDb('sigstall');
  const env = { REDIS_URL: redis.url, REDIS_PREFIX: prefix, SIGNAL_RECONNECT_GRACE_MS: String(GRACE_MS), SIGNAL_SWEEP_MS: '100', SIGNAL_HEARTBEAT_MS: '200', SIGNAL_NODE_TTL_MS: '800' };
  for (const id of ['stall-a', 'stall-b']) nodes.push(await startLocalNode({ db: db.db, ring: keys.ring, env: { ...env, NODE_ID: id } }));
});

afterAll(async () => {
  try {
    process.kill(redisPid(), 'SIGCONT');
  } catch {
    // already gone
  }
  for (const c of clients) c.kill();
  for (const n of nodes) await n.node.close().catch(() => undefined);
  await redis?.stop();
  await db?.drop();
});

describe('Redis stalls and outages around a resume', () => {
  it('replays a frame once when a write that timed out ran after all', async () => {
    const { call, guest, host } = await activeCall(0, 0);
    const seen = await guestStopsReading(host, guest);
    await whileRedisHangs(async () => {
      expect(await host.request('offer', { sdp: 'X' })).toMatchObject({ type: 'ack', data: { delivered: 1 } });
      await sleep(11_500); // two write-behind attempts time out (5 s each); Redis runs both when it resumes
    });
    await sleep(1000);
    const r = new Redis(redis.url);
    const stored = await r.lrange(`${prefix}:room:${call.id}:replay:guest`, 0, -1);
    r.disconnect();
    expect(stored.filter((f) => f.includes('"sdp":"X"'))).toHaveLength(1);
    guest.kill();
    await host.waitType('peer-left', 5000, (f) => f.data.peer === 'guest');
    const again = await joined(0, call, 'guest', seen);
    await again.waitType('offer', 5000, (f) => f.data.sdp === 'X');
    await sleep(300);
    expect(again.frames.filter((f) => f.type === 'offer' && f.data.sdp === 'X')).toHaveLength(1);
  }, 40000);

  it('replays, on a resume on the same node, the frame whose write was still waiting on Redis', async () => {
    const { call, guest, host } = await activeCall(0, 0);
    const seen = await guestStopsReading(host, guest);
    await whileRedisHangs(async () => {
      expect(await host.request('offer', { sdp: 'in flight' })).toMatchObject({ type: 'ack', data: { delivered: 1 } });
      await sleep(400); // the write-behind has taken it and waits on Redis
      guest.kill();
      await host.waitType('peer-left', 10000, (f) => f.data.peer === 'guest');
      const again = await joined(0, call, 'guest', seen); // the directory times out: local state serves the resume
      await again.waitType('offer', 5000, (f) => f.data.sdp === 'in flight');
    });
  }, 40000);

  it('does not end a call by the grace period of a peer that resumed on another node, when Redis then goes down', async () => {
    const { call, guest, host } = await activeCall(1, 0); // host on B, guest on A
    guest.kill();
    await host.waitType('peer-left', 5000, (f) => f.data.peer === 'guest');
    const again = await joined(1, call, 'guest', guest.lastSeq);
    await host.waitType('peer-joined', 5000, (f) => f.data.resumed === true);
    await sleep(300); // node A hears that the guest is back
    const port = Number(new URL(redis.url).port);
    await redis.stop(); // well before the guest's old grace deadline on node A
    await sleep(GRACE_MS + 1500);
    expect((await nodes[0]!.store.get(call.id))?.status).toBe('active');
    expect(host.frames.filter((f) => f.type === 'call-state' && f.data.status !== 'active')).toEqual([]);
    expect(again.isOpen && host.isOpen).toBe(true);
    redis = await spawnRedis(port);
    await until(async () => (await fetch(`http://127.0.0.1:${nodes[0]!.node.port}/ready`).then((r) => r.json()) as { data: { status: string } }).data.status === 'ready', 20000, 'node A ready again');
  }, 40000);
});
