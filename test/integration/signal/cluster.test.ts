import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { spawnRedis, type SpawnedRedis } from '../../../shared/runtime/redis-server.js';
import { redisClient } from '../../helpers/services.js';
import { readiness, until } from '../../helpers/signal-cluster.js';
import { useSignalHarness, type SpawnedNode as Node } from '../../helpers/signal-harness.js';
import type { SignalClient } from '../../helpers/ws-client.js';

const h = useSignalHarness('signalcluster');

/** Node settings on `prefix`: a node is seen as dead 800 ms after its last heartbeat, swept every 100 ms. */
function clusterEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return h.redisEnv({ SIGNAL_HEARTBEAT_MS: '200', SIGNAL_NODE_TTL_MS: '800', SIGNAL_SWEEP_MS: '100', SIGNAL_RECONNECT_GRACE_MS: '20000', ...extra }, prefix);
}

const node = (env: Record<string, string>, id: string): Promise<Node> => h.spawn({ ...env, NODE_ID: id });

/**
 * A call with its host on `hostNode` and guest on `guestNode`, both sockets open and then joined at
 * once, active, and media up: both report `connected` as real clients do, and the call's billing
 * clock has started.
 */
async function activeCall(hostNode: Node, guestNode: Node) {
  const pair = await h.activeCall(hostNode.url, guestNode.url, 10000, 'at once');
  await Promise.all([pair.guest, pair.host].map((c) => c.request('media-state', { state: 'connected' })));
  const mediaUpAt = await until(async () => (await h.store.get(pair.call.id))?.media_up_at?.getTime() ?? null, 10000, 'media up stored');
  return { ...pair, mediaUpAt };
}

/** The status a node's /ready reports, `unreachable` when it does not answer. */
async function ready(n: Node): Promise<string> {
  const res = await readiness(n.signalPort!).catch(() => undefined);
  return res ? (res.body.data.status as string) : 'unreachable';
}

describe('two signal node processes on one Redis', () => {
  let a: Node;
  let b: Node;
  const prefix = h.prefix;

  beforeAll(async () => {
    a = await node(clusterEnv(prefix, { SIGNAL_TICK_MS: '400' }), 'node-a');
    b = await node(clusterEnv(prefix, { SIGNAL_TICK_MS: '400' }), 'node-b');
  }, 60000);

  it('makes exactly one `active` transition when both peers join at once on different nodes', async () => {
    const calls = await Promise.all(Array.from({ length: 8 }, () => activeCall(a, b)));
    for (const { call, guest, host } of calls) {
      expect((await h.store.get(call.id))?.status).toBe('active');
      const transitions = [...a.logs, ...b.logs].filter((l) => l['msg'] === 'call state changed' && l['call'] === call.id && l['to'] === 'active');
      expect(transitions).toHaveLength(1);
      expect([...a.logs, ...b.logs].filter((l) => l['msg'] === 'media up' && l['call'] === call.id)).toHaveLength(1);
      expect(host.frames.filter((f) => f.type === 'call-state' && f.data.status === 'active')).toHaveLength(1);
      expect(guest.frames.filter((f) => f.type === 'call-state' && f.data.status === 'active')).toHaveLength(1);
    }
  });

  it('relays a frame between peers on one node without a PUBLISH, and across nodes with one', async () => {
    const local = await activeCall(a, a);
    const cross = await activeCall(a, b);
    // A pattern subscriber sees every PUBLISH to the tier's channels. (ioredis' MONITOR client can
    // misread a monitor line as a reply and fail with "Command queue state error".)
    const listener = redisClient();
    const publishes: string[] = [];
    listener.on('pmessage', (_pattern: string, _channel: string, message: string) => publishes.push(message));
    await listener.psubscribe(`${prefix}:*`);
    try {
      await local.host.request('offer', { sdp: 'same node' });
      await local.guest.waitType('offer', 5000, (f) => f.data.sdp === 'same node');
      await cross.host.request('offer', { sdp: 'across nodes' });
      await cross.guest.waitType('offer', 5000, (f) => f.data.sdp === 'across nodes');
      await until(() => publishes.some((p) => p.includes('across nodes')), 5000, 'the cross-node PUBLISH seen by a pattern subscriber');
      expect(publishes.filter((p) => p.includes('same node'))).toEqual([]);
    } finally {
      listener.disconnect();
    }
  });

  it('emits one billing tick per period of an active call from its media-up time, on exactly one node', async () => {
    const { call, mediaUpAt } = await activeCall(a, b);
    const ticks = () => [...a.logs, ...b.logs].filter((l) => l['msg'] === 'call tick' && l['call'] === call.id);
    await until(() => ticks().some((t) => t['minute'] === 4), 15000, 'four ticks');
    const minutes = ticks().map((t) => t['minute'] as number).sort((x, y) => x - y);
    expect(minutes.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(new Set(minutes).size).toBe(minutes.length);
    // Each emitted no earlier than the end of its period since media-up (the log's time is ISO 8601).
    for (const t of ticks()) expect(Date.parse(t['time'] as string)).toBeGreaterThanOrEqual(mediaUpAt + (t['minute'] as number) * 400);
  });

  it('emits, late and once, the ticks of minutes that ended while no node held a participant', async () => {
    const { call, guest, host } = await activeCall(a, a);
    const ticks = () => [...a.logs, ...b.logs].filter((l) => l['msg'] === 'call tick' && l['call'] === call.id);
    await until(() => ticks().some((t) => t['minute'] === 2), 10000, 'two ticks on node a');
    // Both drop; three 400 ms periods end with neither held anywhere; both come back on node b.
    guest.kill();
    host.kill();
    await new Promise((r) => setTimeout(r, 1300));
    const rejoinedAt = Date.now();
    const [guestBack, hostBack] = await Promise.all([h.connect(b.url, call, 'guest'), h.connect(b.url, call, 'host')]);
    await Promise.all([guestBack.join(guest.lastSeq), hostBack.join(host.lastSeq)]);
    const beforeDrop = Math.max(...ticks().filter((t) => Date.parse(t['time'] as string) < rejoinedAt - 1300).map((t) => t['minute'] as number));
    await until(() => ticks().some((t) => t['node'] === 'node-b' && (t['minute'] as number) >= beforeDrop + 6), 10000, 'ticks on node b after the rejoin');
    const seen = ticks().sort((x, y) => (x['minute'] as number) - (y['minute'] as number));
    const minutes = seen.map((t) => t['minute'] as number);
    expect(minutes).toEqual(Array.from({ length: minutes.length }, (_, i) => i + 1));
    const late = seen.filter((t) => t['late'] === true);
    expect(late.length).toBeGreaterThanOrEqual(2);
    for (const t of late) expect(t).toMatchObject({ node: 'node-b', reconnecting: expect.arrayContaining(['host', 'guest']) });
    // Emitted after the rejoin, not at their minutes' ends (the log's time is ISO 8601).
    for (const t of late) expect(Date.parse(t['time'] as string)).toBeGreaterThanOrEqual(rejoinedAt);
  });

  it('survives SIGKILL of a node: the other side is told, and the dropped peer resumes on the surviving node', async () => {
    const { call, guest, host } = await activeCall(a, b);
    const killedAt = Date.now();
    a.kill('SIGKILL');
    await a.exited;
    // Sent before the node's death is detected: parked, not lost.
    const inTheWindow = await guest.request('ice-candidate', { candidate: { candidate: 'candidate:9 1 udp 1 10.0.0.9 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    expect(inTheWindow).toMatchObject({ type: 'ack', data: { delivered: 1 } });
    const left = await guest.waitType('peer-left', 10000, (f) => f.data.peer === 'host');
    expect(left.data).toMatchObject({ reason: 'node_failure', reconnecting: true });
    // The documented bound is SIGNAL_NODE_TTL_MS + SIGNAL_SWEEP_MS (900 ms here); 2 s of slack for a loaded machine.
    expect(Date.now() - killedAt).toBeLessThan(900 + 2000);
    const missed = await guest.request('offer', { sdp: 'while-you-were-away' });
    expect(missed.type).toBe('ack');

    const resumed = await h.connect(b.url, call, 'host');
    const reply = await resumed.join(host.lastSeq);
    expect(reply.data).toMatchObject({ resumed: true, call: { status: 'active' }, peers: [{ peer: 'guest', state: 'connected' }] });
    expect(reply.data.replayed).toBeGreaterThanOrEqual(1);
    await resumed.waitType('offer', 5000, (f) => f.data.sdp === 'while-you-were-away');
    const order = resumed.frames.filter((f) => f.type === 'ice-candidate' || f.type === 'offer').map((f) => f.type);
    expect(order).toEqual(['ice-candidate', 'offer']);
    await guest.waitType('peer-joined', 5000, (f) => f.data.resumed === true);
    resumed.send({ type: 'answer', data: { sdp: 'back' } });
    await guest.waitType('answer', 5000, (f) => f.data.sdp === 'back');
    expect((await h.store.get(call.id))?.status).toBe('active');
    // The connection events are logged with the node and call ids.
    const ofCall = (msg: string) => b.logs.filter((l) => l['msg'] === msg && l['call'] === call.id);
    expect(ofCall('peer joined')).toEqual(expect.arrayContaining([
      expect.objectContaining({ node: 'node-b', peer: 'host', resumed: true, conn: expect.any(String) }),
      expect.objectContaining({ node: 'node-b', peer: 'guest', resumed: false }),
    ]));
    expect(ofCall('peer lost with its node')).toEqual([expect.objectContaining({ node: 'node-b', peer: 'host', deadNode: 'node-a' })]);
  });
});

describe('a peer that resumes on another node just after a minute ends', () => {
  const TICK_MS = 2500;
  // The other node must claim within 2 sweeps + 100 ms: a loaded machine gets one sweep of slack.
  const SWEEP_MS = 500;

  it('leaves that minute to the node that held the other peer: emitted once, not `late`', async () => {
    const prefix = h.extraPrefix('ticklate');
    const env = clusterEnv(prefix, { SIGNAL_TICK_MS: String(TICK_MS), SIGNAL_SWEEP_MS: String(SWEEP_MS) });
    const a = await node(env, 'late-a');
    const b = await node(env, 'late-b');
    // Several calls: which node's sweep comes first after the rejoin is a matter of phase.
    const outcomes = await Promise.all(Array.from({ length: 6 }, async () => {
      const { call, guest, mediaUpAt } = await activeCall(a, a);
      const minute = Math.floor((Date.now() + 600 - mediaUpAt) / TICK_MS) + 1;
      const end = mediaUpAt + minute * TICK_MS;
      await new Promise((r) => setTimeout(r, end - 200 - Date.now()));
      guest.kill();
      await new Promise((r) => setTimeout(r, end + 20 - Date.now()));
      const back = await h.connect(b.url, call, 'guest');
      await back.join(guest.lastSeq);
      const ticks = () => [...a.logs, ...b.logs].filter((l) => l['msg'] === 'call tick' && l['call'] === call.id && l['minute'] === minute);
      await until(() => ticks().length > 0, 10000, `the tick of minute ${minute}`);
      await new Promise((r) => setTimeout(r, 3 * SWEEP_MS));
      return ticks();
    }));
    for (const ticks of outcomes) {
      expect(ticks).toHaveLength(1);
      expect(ticks[0]).toMatchObject({ node: 'late-a', late: false });
    }
  }, 60000);
});

describe('a killed node with many calls', () => {
  const CALLS = 250;
  const NODE_TTL_MS = 800;
  const SWEEP_MS = 2000;

  it('has every one of its peers seen as gone within SIGNAL_NODE_TTL_MS + SIGNAL_SWEEP_MS', async () => {
    const prefix = h.extraPrefix('manycalls');
    const env = clusterEnv(prefix, { SIGNAL_NODE_TTL_MS: String(NODE_TTL_MS), SIGNAL_SWEEP_MS: String(SWEEP_MS), SIGNAL_IDLE_TIMEOUT_MS: '600000' });
    const doomed = await node(env, 'many-doomed');
    const survivor = await node(env, 'many-survivor');
    const guests: SignalClient[] = [];
    for (let i = 0; i < CALLS; i += 25) {
      await Promise.all(Array.from({ length: 25 }, async () => {
        const call = await h.call();
        const guest = await h.connectWith(survivor.url, await h.token(call, 'guest', { ttlSec: 600 }));
        const host = await h.connectWith(doomed.url, await h.token(call, 'host', { ttlSec: 600 }));
        await Promise.all([guest.join(), host.join()]);
        guests.push(guest);
      }));
    }
    const killedAt = Date.now();
    doomed.kill('SIGKILL');
    await doomed.exited;
    const seenGoneAfter = await Promise.all(guests.map((g) => g.waitType('peer-left', 30000, (f) => f.data.reason === 'node_failure').then(() => Date.now() - killedAt)));
    // More rooms than one round trip of the sweep takes (50): all of them are marked by one sweep.
    expect(Math.max(...seenGoneAfter)).toBeLessThan(NODE_TTL_MS + SWEEP_MS + 1500);
  }, 120000);
});

describe('a peer that joins again elsewhere before its killed node is seen as dead', () => {
  it('gets the frames sent after its join (no node answers the kick, so none are held back for it)', async () => {
    const prefix = h.extraPrefix('kickdead');
    // A long TTL: the directory still says the guest is connected on the killed node.
    const env = clusterEnv(prefix, { SIGNAL_NODE_TTL_MS: '30000' });
    const doomed = await node(env, 'kick-doomed');
    const survivor = await node(env, 'kick-survivor');
    const { call, guest, host } = await activeCall(survivor, doomed);
    doomed.kill('SIGKILL');
    await doomed.exited;
    const again = await h.connect(survivor.url, call, 'guest');
    const reply = await again.join(guest.lastSeq);
    expect(reply.data).toMatchObject({ resumed: true, call: { status: 'active' } });
    for (const n of [1, 2, 3]) host.send({ type: 'offer', data: { sdp: `after ${n}` } });
    await again.waitType('offer', 5000, (f) => f.data.sdp === 'after 3');
    const offers = again.frames.filter((f) => f.type === 'offer');
    expect(offers.map((f) => f.data.sdp)).toEqual(['after 1', 'after 2', 'after 3']);
    expect(offers.every((f) => (f.seq as number) > (reply.data.seq as number))).toBe(true);
    expect(host.frames.filter((f) => f.type === 'peer-left')).toEqual([]);
  });
});

describe('drain on SIGTERM', () => {
  it('tells every client to reconnect (frame + 4000), ends no call, and the peer resumes on another node', async () => {
    const prefix = h.extraPrefix('drain');
    const a = await node(clusterEnv(prefix), 'drain-a');
    const b = await node(clusterEnv(prefix), 'drain-b');
    const { call, guest, host } = await activeCall(a, b);
    b.kill('SIGTERM');
    const frame = await guest.waitType('reconnect');
    expect(frame.data).toEqual({ reason: 'drain', retry_after_ms: 0 });
    expect((await guest.waitClose()).code).toBe(CLOSE_CODES.SERVER_SHUTDOWN);
    expect((await b.exited).code).toBe(0);
    await host.waitType('peer-left', 5000, (f) => f.data.peer === 'guest' && f.data.reason === 'disconnected');
    expect((await h.store.get(call.id))?.status).toBe('active');
    const again = await h.connect(a.url, call, 'guest');
    expect((await again.join(guest.lastSeq)).data).toMatchObject({ resumed: true, call: { status: 'active' } });
    host.send({ type: 'renegotiate', data: { reason: 'after-drain' } });
    await again.waitType('renegotiate');
  }, 60000);
});

describe('Redis stopped and restarted during calls', () => {
  let redis: SpawnedRedis;
  afterAll(async () => {
    await redis?.stop();
  });

  it('keeps same-node calls working, reports degraded, and resumes cross-node relay when Redis returns', async () => {
    redis = await spawnRedis();
    const port = Number(new URL(redis.url).port);
    const env = { ...clusterEnv('redisdown'), REDIS_URL: redis.url }; // a private Redis: its keys go with it
    const a = await node(env, 'rd-a');
    const b = await node(env, 'rd-b');
    const local = await activeCall(a, a);
    const cross = await activeCall(a, b);
    await redis.stop();
    await until(async () => (await ready(a)) === 'degraded' && (await ready(b)) === 'degraded', 15000, 'degraded readiness');

    expect((await local.host.request('offer', { sdp: 'same-node' })).type).toBe('ack');
    await local.guest.waitType('offer', 5000, (f) => f.data.sdp === 'same-node');
    const lost = await cross.host.request('offer', { sdp: 'cross-while-down' });
    expect(lost).toMatchObject({ type: 'error', data: { code: 'not_found' } });
    const metrics = await (await fetch(`http://127.0.0.1:${a.signalPort}/metrics`)).text();
    expect(metrics).toMatch(/signal_redis_publish_failures_total [1-9]/);

    redis = await spawnRedis(port);
    await until(async () => (await ready(a)) === 'ready' && (await ready(b)) === 'ready', 20000, 'ready again');
    await until(async () => (await cross.host.request('offer', { sdp: 'cross-after' })).type === 'ack', 10000, 'cross-node relay');
    await cross.guest.waitType('offer', 5000, (f) => f.data.sdp === 'cross-after');
    expect(cross.guest.frames.some((f) => f.type === 'offer' && f.data.sdp === 'cross-while-down')).toBe(false);
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
    expect((await h.store.get(cross.call.id))?.status).toBe('active');
  }, 90000);

  it('tells a peer on another node of a call that ended while Redis was down, once Redis returns', async () => {
    const spare = await spawnRedis();
    const port = Number(new URL(spare.url).port);
    const env = { ...clusterEnv('redisdown-end'), REDIS_URL: spare.url };
    const a = await node(env, 'rde-a');
    const b = await node(env, 'rde-b');
    const { call, guest, host } = await activeCall(a, b);
    await spare.stop();
    await until(async () => (await ready(a)) === 'degraded' && (await ready(b)) === 'degraded', 15000, 'degraded readiness');
    // The hangup is stored (MongoDB is up); its announcement to node b cannot be published.
    expect((await host.request('hangup')).type).toBe('ack');
    expect((await h.store.get(call.id))?.status).toBe('ended');
    await new Promise((r) => setTimeout(r, 500));
    expect(guest.frames.some((f) => f.type === 'call-state' && f.data.status === 'ended')).toBe(false);

    const back = await spawnRedis(port);
    try {
      await until(async () => (await ready(b)) === 'ready', 20000, 'node b ready again');
      await guest.waitType('call-state', 10000, (f) => f.data.status === 'ended');
      expect((await guest.waitClose(5000)).code).toBe(CLOSE_CODES.CALL_ENDED);
    } finally {
      await back.stop();
    }
  }, 90000);
});
