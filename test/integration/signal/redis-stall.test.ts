import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../../shared/calls/index.js';
import { spawnRedis, type SpawnedRedis } from '../../../shared/runtime/redis-server.js';
import { readiness, until } from '../../helpers/signal-cluster.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import type { SignalClient } from '../../helpers/ws-client.js';

/** Redis that goes away or hangs (SIGSTOP: commands time out on the node, then run when it resumes), on a private server. */
const GRACE_MS = 3000;
let redis: SpawnedRedis;
const h = useSignalHarness('stall', { redisUrl: () => redis.url });
const prefix = h.prefix;
const nodes = h.nodes;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const redisPid = () => redis.server.process.pid!;

function joined(nodeIndex: number, call: Call, peer: 'host' | 'guest', lastSeq?: number): Promise<SignalClient> {
  return h.joined(nodes[nodeIndex]!.url, call, peer, lastSeq);
}

function activeCall(hostNode: number, guestNode: number) {
  return h.activeCall(nodes[hostNode]!.url, nodes[guestNode]!.url, 5000);
}

/** The guest has seen everything so far, then its socket goes half-open (it reads nothing more). */
async function guestStopsReading(call: Call, host: SignalClient, guest: SignalClient): Promise<number> {
  await host.request('offer', { sdp: 'before' });
  await guest.waitType('offer', 5000, (f) => f.data.sdp === 'before');
  // Past the write-behind: everything so far is in Redis.
  const r = new Redis(redis.url);
  try {
    await until(async () => (await r.lrange(`${prefix}:room:${call.id}:replay:guest`, 0, -1)).some((f) => f.includes('"sdp":"before"')), 5000, 'the last frame in the replay list');
  } finally {
    r.disconnect();
  }
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
  const env = h.redisEnv({ SIGNAL_RECONNECT_GRACE_MS: String(GRACE_MS), SIGNAL_SWEEP_MS: '100', SIGNAL_HEARTBEAT_MS: '200', SIGNAL_NODE_TTL_MS: '800' });
  for (const id of ['stall-a', 'stall-b']) await h.local({ ...env, NODE_ID: id });
});

afterAll(async () => {
  try {
    process.kill(redisPid(), 'SIGCONT');
  } catch {
    // already gone
  }
  await h.close(); // before its Redis goes
  await redis?.stop();
});

describe('Redis stalls and outages around a resume', () => {
  it('replays a frame once when a write that timed out ran after all', async () => {
    const { call, guest, host } = await activeCall(0, 0);
    const seen = await guestStopsReading(call, host, guest);
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
    const seen = await guestStopsReading(call, host, guest);
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
    await until(async () => (await readiness(nodes[0]!.node.port)).body.data.status === 'ready', 20000, 'node A ready again');
  }, 40000);
});
