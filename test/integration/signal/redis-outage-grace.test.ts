import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call, CallStatus, MongoCallStore } from '../../../shared/calls/index.js';
import { spawnRedis, type SpawnedRedis } from '../../../shared/runtime/redis-server.js';
import type { SignalNode } from '../../../signal/main.js';
import { createCall, until } from '../../helpers/signal-cluster.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import type { SignalClient } from '../../helpers/ws-client.js';

const GRACE_MS = 1500;
let redis: SpawnedRedis;
let redisPort: number;
const h = useSignalHarness('outage', { redisUrl: () => redis.url });
const prefix = h.prefix;
let node: SignalNode;
let url: string;
let store: MongoCallStore;

function joined(call: Call, peer: 'host' | 'guest'): Promise<SignalClient> {
  return h.joined(url, call, peer);
}

function activeCall() {
  return h.activeCall(url, url, 5000);
}

async function readiness(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${node.port}/ready`);
  return ((await res.json()) as { data: { status: string } }).data.status;
}

async function stopRedis(): Promise<void> {
  await redis.stop();
  await until(async () => (await readiness()) === 'degraded', 15000, 'degraded readiness');
}

async function startRedis(): Promise<void> {
  redis = await spawnRedis(redisPort);
  await until(async () => (await readiness()) === 'ready', 20000, 'ready again');
}

function transitionsInto(callId: string, to: CallStatus): { count(): number; off(): void } {
  let n = 0;
  const off = node.events.on('call-state', (e) => { if (e.callId === callId && e.to === to) n++; });
  return { count: () => n, off };
}

beforeAll(async () => {
  redis = await spawnRedis();
  redisPort = Number(new URL(redis.url).port);
  ({ node, url, store } = await h.local(
    h.redisEnv({ SIGNAL_RECONNECT_GRACE_MS: String(GRACE_MS), SIGNAL_SWEEP_MS: '100', SIGNAL_HEARTBEAT_MS: '200', SIGNAL_NODE_TTL_MS: '800' }),
  ));
});

afterAll(async () => {
  await h.close(); // before its Redis goes
  await redis?.stop();
});

describe('grace periods and Redis', () => {
  it('lets the Redis grace zset decide while Redis is reachable (the node\'s own deadline does nothing)', async () => {
    const { call, guest, host } = await activeCall();
    guest.kill();
    await host.waitType('peer-left', 5000, (f) => f.data.peer === 'guest');
    const r = new Redis(redis.url);
    const entry = `${call.id}\nguest`;
    await until(async () => (await r.zscore(`${prefix}:grace`, entry)) !== null, 5000, 'grace entry');
    // The directory says the grace period runs much longer: past the local deadline nothing happens.
    await r.zadd(`${prefix}:grace`, 'XX', Date.now() + 60_000, entry);
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 1000));
    expect((await store.get(call.id))?.status).toBe('active');
    expect(host.frames.some((f) => f.type === 'call-state' && f.data.status === 'ended')).toBe(false);
    await r.zadd(`${prefix}:grace`, 'XX', Date.now(), entry);
    expect((await host.waitType('call-state', 5000, (f) => f.data.status === 'ended')).data.end_reason).toBe('failure');
    r.disconnect();
  });

  it('ends the call once the grace period of a peer that dropped while Redis was down has passed', async () => {
    const { call, guest, host } = await activeCall();
    const ended = transitionsInto(call.id, 'ended');
    await stopRedis();
    try {
      guest.kill();
      const droppedAt = Date.now();
      const left = await host.waitType('peer-left', 5000, (f) => f.data.peer === 'guest');
      expect(left.data).toMatchObject({ reason: 'disconnected', reconnecting: true, grace_ms: GRACE_MS });
      const state = await host.waitType('call-state', 10000, (f) => f.data.status === 'ended');
      expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
      expect(state.data.end_reason).toBe('failure');
      expect(await store.get(call.id)).toMatchObject({ status: 'ended', end_reason: 'failure' });
      expect(ended.count()).toBe(1);
    } finally {
      ended.off();
      await startRedis();
    }
  }, 60000);

  it('ends the call at the deadline when Redis goes down after the peer dropped', async () => {
    const { call, guest, host } = await activeCall();
    guest.kill();
    await host.waitType('peer-left', 5000, (f) => f.data.peer === 'guest');
    await stopRedis();
    try {
      const state = await host.waitType('call-state', 10000, (f) => f.data.status === 'ended');
      expect(state.data.end_reason).toBe('failure');
      expect(await store.get(call.id)).toMatchObject({ status: 'ended', end_reason: 'failure' });
    } finally {
      await startRedis();
    }
  }, 60000);

  it('fails a call that never became active, and spares one whose peer came back to the node in time', async () => {
    const ringing = await createCall(store);
    const host = await joined(ringing, 'host');
    await host.waitType('call-state', 5000, (f) => f.data.status === 'ringing');
    const { call, guest, host: otherHost } = await activeCall();
    await stopRedis();
    try {
      host.kill();
      guest.kill();
      await otherHost.waitType('peer-left', 5000, (f) => f.data.peer === 'guest');
      const back = await joined(call, 'guest');
      expect((await back.waitType('ack')).data).toMatchObject({ resumed: true, call: { status: 'active' } });
      await until(async () => (await store.get(ringing.id))?.status === 'failed', 10000, 'ringing call failed');
      expect((await store.get(ringing.id))?.end_reason).toBe('failure');
      await new Promise((resolve) => setTimeout(resolve, GRACE_MS));
      expect((await store.get(call.id))?.status).toBe('active');
      expect(otherHost.isOpen && back.isOpen).toBe(true);
    } finally {
      await startRedis();
    }
  }, 60000);
});
