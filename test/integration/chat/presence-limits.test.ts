import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCore } from '../../../shared/chat/chat-core.js';
import { NoChatNotifier } from '../../../shared/chat/events.js';
import { newId } from '../../../shared/ids.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { presenceKey } from '../../../shared/presence/index.js';
import { signToken } from '../../../shared/tokens/index.js';
import { dropRedisPrefix, freshDb, mongoUrl, redisClient, redisUrl, uniqueName } from '../../helpers/services.js';
import { ISSUER, makeKeys, spawnNode, until } from '../../helpers/signal-cluster.js';
import { SignalClient, type Frame } from '../../helpers/ws-client.js';

type Node = Awaited<ReturnType<typeof spawnNode>>;
const keys = makeKeys();
const clients: SignalClient[] = [];
const procs: Node[] = [];
const prefix = uniqueName('chatpr');
let db: Awaited<ReturnType<typeof freshDb>>;
let core: ChatCore;
let a: Node;
let b: Node;

async function accessToken(sub: string): Promise<string> {
  return (await signToken(keys.ring, { role: 'user' }, { issuer: ISSUER, audience: 'api', subject: sub, ttlSec: 900 })).token;
}

/** Connects, waits for `ready`, sends `resume` and returns the socket with the `resume` ack. */
async function chat(node: Node, user: string): Promise<{ c: SignalClient; ack: Frame }> {
  const c = await SignalClient.connect(node.url, await accessToken(user), { path: '/v1/chat/ws' });
  clients.push(c);
  await c.waitType('ready');
  const ack = await c.request('resume', { conversations: {} });
  expect(ack.type).toBe('ack');
  return { c, ack };
}

const presenceOf = (c: SignalClient, user: string) => c.frames.filter((f) => f.type === 'presence' && user in f.data.users).map((f) => f.data.users[user] as boolean);

async function converse(x: string, y: string): Promise<string> {
  return (await core.conversations.findOrCreate(x, y, new Date())).conversation.id;
}

beforeAll(async () => {
  db = await freshDb('chatpr');
  core = new ChatCore(db.db, new NoChatNotifier(), { maxTextChars: 4000 });
  await core.ensureIndexes();
  const env = {
    REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, MONGO_URL: mongoUrl(), MONGO_DB: db.name, JWT_KEYS_DIR: keys.dir,
    LOG_LEVEL: process.env.SIGNAL_TEST_LOG ?? 'info', SIGNAL_PRESENCE_TTL_MS: '1500',
    SIGNAL_RATE_PER_SEC: '1000', SIGNAL_RATE_BURST: '1000', CHAT_USER_RATE_PER_SEC: '1', CHAT_USER_RATE_BURST: '10', SIGNAL_MAX_VIOLATIONS: '5',
  };
  [a, b] = await Promise.all([spawnNode({ ...env, NODE_ID: 'chatpr-a' }), spawnNode({ ...env, NODE_ID: 'chatpr-b' })]);
  procs.push(a, b);
}, 90000);

afterAll(async () => {
  for (const c of clients) c.kill();
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  const r = redisClient();
  await dropRedisPrefix(r, prefix);
  r.disconnect();
  await db?.drop();
});

describe('chat presence of counterparts', () => {
  it('reports counterparts in the resume ack and pushes online/offline across nodes, offline only when no node holds the user', { timeout: 60000 }, async () => {
    const x = `u_${newId()}`;
    const y = `u_${newId()}`;
    const z = `u_${newId()}`;
    await converse(x, y);
    await converse(x, z);
    const { c: x1, ack: xAck } = await chat(a, x);
    expect(xAck.data.presence).toEqual({ [y]: false, [z]: false });

    const w = `u_${newId()}`;
    await converse(x, w);
    const { c: y2 } = await chat(a, y);
    await until(() => presenceOf(x1, y).includes(true), 10000);
    const { ack: yAck, c: y1 } = await chat(b, y);
    expect(yAck.data.presence).toEqual({ [x]: true });
    const { c: w1 } = await chat(b, w);
    await until(() => presenceOf(x1, w).includes(true), 10000);
    // Close y's socket on node b while b holds y's key: b's release deletes it though node a still holds y.
    const r = redisClient();
    try {
      await until(async () => (await r.get(presenceKey(prefix, y))) === 'chatpr-b', 10000);
      y1.close();
      w1.close();
      await Promise.all([y1.closed, w1.closed]);
    } finally {
      r.disconnect();
    }
    // w (no other socket) goes offline; y, still on node a, is not reported offline.
    await until(() => presenceOf(x1, w).includes(false), 10000);
    expect(presenceOf(x1, y)).not.toContain(false);
    const { ack: again } = await chat(b, x);
    expect(again.data.presence).toEqual({ [y]: true, [z]: false, [w]: false });

    y2.close();
    await y2.closed;
    await until(() => presenceOf(x1, y).includes(false), 10000);
    expect(presenceOf(x1, y).at(-1)).toBe(false);
    const { ack: after } = await chat(b, x);
    expect(after.data.presence[y]).toBe(false);
  });
});

describe('chat per-user frame rate', () => {
  it('shares one budget across a user\'s sockets on both nodes (Redis), answers rate_limited with scope user, then closes 4501', { timeout: 60000 }, async () => {
    const x = `u_${newId()}`;
    const [{ c: s1 }, { c: s2 }, { c: other }] = await Promise.all([chat(a, x), chat(b, x), chat(a, `u_${newId()}`)]);
    // Each socket has used 1 frame (resume): the user's one bucket (10 burst, 1 a second) has 8 left.
    // Per node, each would still have 9: the 16 pings below would all pass.
    const began = Date.now();
    for (let i = 0; i < 8; i += 1) {
      s1.send({ type: 'ping', id: `p1-${i}`, data: {} });
      s2.send({ type: 'ping', id: `p2-${i}`, data: {} });
    }
    const limited = (c: SignalClient) => c.frames.filter((f) => f.type === 'error' && f.data.code === 'rate_limited');
    const pongs = (c: SignalClient) => c.frames.filter((f) => f.type === 'pong');
    await until(() => [s1, s2].every((c) => !c.isOpen || pongs(c).length + limited(c).length >= 8), 10000);
    const elapsedSec = (Date.now() - began) / 1000;
    expect(limited(s1).length + limited(s2).length).toBeGreaterThanOrEqual(1);
    expect(pongs(s1).length + pongs(s2).length).toBeLessThanOrEqual(8 + Math.ceil(elapsedSec));
    for (const f of [...limited(s1), ...limited(s2)]) expect(f.data.details).toEqual({ scope: 'user' });
    // Another user keeps their own budget.
    expect((await other.request('ping', {})).type).toBe('pong');
    const open = s1.isOpen ? s1 : s2;
    for (let i = 0; i < 20 && open.isOpen; i += 1) open.send({ type: 'ping', data: {} });
    expect((await open.waitClose()).code).toBe(CLOSE_CODES.RATE_LIMITED);
  });
});
