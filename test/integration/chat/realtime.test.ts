import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCore } from '../../../shared/chat/chat-core.js';
import { NoChatNotifier } from '../../../shared/chat/events.js';
import { newId } from '../../../shared/ids.js';
import { CLOSE_CODES } from '../../../shared/protocol/index.js';
import { signToken } from '../../../shared/tokens/index.js';
import { dropRedisPrefix, freshDb, mongoUrl, redisClient, redisUrl, uniqueName } from '../../helpers/services.js';
import { ISSUER, makeKeys, spawnNode, until } from '../../helpers/signal-cluster.js';
import { SignalClient, type Frame } from '../../helpers/ws-client.js';

type Node = Awaited<ReturnType<typeof spawnNode>>;
const keys = makeKeys();
const clients: SignalClient[] = [];
const procs: Node[] = [];
const prefix = uniqueName('chat');
let db: Awaited<ReturnType<typeof freshDb>>;
let core: ChatCore;
let a: Node;
let b: Node;

async function accessToken(sub: string, ttlSec = 900): Promise<string> {
  return (await signToken(keys.ring, { role: 'user' }, { issuer: ISSUER, audience: 'api', subject: sub, ttlSec })).token;
}

async function chat(node: Node, user: string, resume: Record<string, number> | null = {}): Promise<SignalClient> {
  const c = await SignalClient.connect(node.url, await accessToken(user), { path: '/v1/chat/ws' });
  clients.push(c);
  await c.waitType('ready');
  if (resume) expect((await c.request('resume', { conversations: resume })).type).toBe('ack');
  return c;
}

const messages = (c: SignalClient, conversation: string) => c.frames.filter((f) => f.type === 'message' && f.data.message.conversation_id === conversation).map((f) => f.data.message);
const seqs = (c: SignalClient, conversation: string) => messages(c, conversation).map((m: { seq: number }) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function pair(): Promise<{ x: string; y: string; conv: string }> {
  const x = `u_${newId()}`;
  const y = `u_${newId()}`;
  const { conversation } = await core.conversations.findOrCreate(x, y, new Date());
  return { x, y, conv: conversation.id };
}

function send(c: SignalClient, conv: string, text: string, clientId = newId()): Promise<Frame> {
  return c.request('send', { conversation_id: conv, client_id: clientId, text }, 30000);
}

beforeAll(async () => {
  db = await freshDb('chatrt');
  core = new ChatCore(db.db, new NoChatNotifier(), { maxTextChars: 4000 });
  await core.ensureIndexes();
  const env = {
    REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, MONGO_URL: mongoUrl(), MONGO_DB: db.name, JWT_KEYS_DIR: keys.dir,
    LOG_LEVEL: process.env.SIGNAL_TEST_LOG ?? 'info', CHAT_RECOVERY_MAX: '100', SIGNAL_REAUTH_GRACE_MS: '1000', SIGNAL_RATE_PER_SEC: '1000', SIGNAL_RATE_BURST: '1000',
  };
  [a, b] = await Promise.all([spawnNode({ ...env, NODE_ID: 'chat-a' }), spawnNode({ ...env, NODE_ID: 'chat-b' })]);
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

describe('chat WebSocket on two signal node processes', () => {
  it('acks a send once stored and delivers it to every socket of both users on both nodes', async () => {
    const { x, y, conv } = await pair();
    const [x1, x2, y1, y2, y3] = await Promise.all([chat(a, x), chat(b, x), chat(a, y), chat(b, y), chat(b, y)]);
    const ack = await send(x1, conv, 'hello');
    expect(ack.type).toBe('ack');
    expect(ack.data.message).toMatchObject({ conversation_id: conv, seq: 1, sender_id: x, text: 'hello' });
    expect(await core.messages.bySeq(conv, 1)).toMatchObject({ id: ack.data.message.id });
    for (const c of [x1, x2, y1, y2, y3]) await c.waitFor((f) => f.type === 'message' && f.data.message.seq === 1);
    await send(y3, conv, 'hi back');
    for (const c of [x1, x2, y1, y2, y3]) await c.waitFor((f) => f.type === 'message' && f.data.message.seq === 2);
    for (const c of [x1, x2, y1, y2, y3]) expect(seqs(c, conv)).toEqual([1, 2]);
  });

  it('keeps each socket in seq order, without duplicates, under concurrent senders on two nodes', async () => {
    const { x, y, conv } = await pair();
    const [xs, ys, watchA, watchB] = await Promise.all([chat(a, x), chat(b, y), chat(a, y), chat(b, x)]);
    const acks = await Promise.all([
      ...range(1, 25).map((i) => send(xs, conv, `x${i}`)),
      ...range(1, 25).map((i) => send(ys, conv, `y${i}`)),
    ]);
    expect(acks.every((f) => f.type === 'ack')).toBe(true);
    expect(acks.map((f) => f.data.message.seq).sort((p, q) => p - q)).toEqual(range(1, 50));
    for (const c of [xs, ys, watchA, watchB]) {
      await until(() => seqs(c, conv).length >= 50, 15000);
      expect(seqs(c, conv)).toEqual(range(1, 50));
    }
  });

  it('makes a retried send a no-op: same message, duplicate flag, one delivery', async () => {
    const { x, y, conv } = await pair();
    const [xs, ys] = await Promise.all([chat(a, x), chat(b, y)]);
    const first = await send(xs, conv, 'once', 'client-1');
    const again = await send(xs, conv, 'once (retry)', 'client-1');
    expect(again.data.duplicate).toBe(true);
    expect(again.data.message).toEqual(first.data.message);
    await send(xs, conv, 'next', 'client-2');
    await until(() => seqs(ys, conv).length >= 2, 10000);
    expect(seqs(ys, conv)).toEqual([1, 2]);
  });

  it('replays what a reconnecting socket missed exactly once, in order, then goes on live; too many → reload', { timeout: 90000 }, async () => {
    const { x, y, conv } = await pair();
    const xs = await chat(a, x);
    const ys = await chat(b, y, { [conv]: 0 });
    for (const i of range(1, 5)) await send(xs, conv, `m${i}`);
    await until(() => seqs(ys, conv).length >= 5, 10000);
    ys.close();
    await ys.closed;
    const sent = await Promise.all(range(6, 45).map((i) => send(xs, conv, `m${i}`)));
    expect(sent.every((f) => f.type === 'ack')).toBe(true);
    const back = await chat(a, y, null);
    const live = send(xs, conv, 'live-1');
    const resumed = await back.request('resume', { conversations: { [conv]: 5 } });
    expect(resumed.type).toBe('ack');
    await live;
    await send(xs, conv, 'live-2');
    await until(() => seqs(back, conv).length >= 42, 10000);
    expect(seqs(back, conv)).toEqual(range(6, 47));
    expect(messages(back, conv).slice(-2).map((m: { text: string }) => m.text)).toEqual(['live-1', 'live-2']);

    for (const i of range(1, 60)) await core.send({ conversationId: conv, senderId: x, text: `bulk${i}`, at: new Date() });
    const far = await chat(b, y, null);
    await far.request('resume', { conversations: { [conv]: 1 } });
    const reload = await far.waitType('reload');
    expect(reload.data).toEqual({ conversation_id: conv, reason: 'too_many' });
    const ahead = await chat(b, y, null);
    await ahead.request('resume', { conversations: { [conv]: 9999 } });
    expect((await ahead.waitType('reload')).data.reason).toBe('unknown_position');
    const stranger = await chat(b, `u_${newId()}`, null);
    await stranger.request('resume', { conversations: { [conv]: 0 } });
    expect((await stranger.waitType('reload')).data.reason).toBe('not_found');
    expect(seqs(stranger, conv)).toEqual([]);
  });

  it('loses nothing acknowledged when the sender\'s node is SIGKILLed mid-burst', async () => {
    const { x, y, conv } = await pair();
    const doomed = await spawnNode({
      REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, MONGO_URL: mongoUrl(), MONGO_DB: db.name, JWT_KEYS_DIR: keys.dir, LOG_LEVEL: 'info',
      SIGNAL_RATE_PER_SEC: '1000', SIGNAL_RATE_BURST: '1000', NODE_ID: 'chat-doomed',
    });
    procs.push(doomed);
    const xs = await chat(doomed, x);
    const ys = await chat(b, y, { [conv]: 0 });
    const acked: number[] = [];
    const burst = range(1, 200).map((i) => send(xs, conv, `b${i}`, `burst-${i}`).then((f) => { if (f.type === 'ack') acked.push(f.data.message.seq); }, () => undefined));
    await until(() => acked.length >= 20, 15000);
    doomed.kill('SIGKILL');
    await xs.closed;
    await doomed.exited;
    void burst;
    expect(acked.length).toBeGreaterThanOrEqual(20);
    ys.close();
    await ys.closed;
    const lastSeen = Math.max(0, ...seqs(ys, conv));
    const again = await chat(a, y, { [conv]: lastSeen });
    // Read after the resume: a write the killed node had already handed to the database may land late.
    const stored = await core.messages.maxSeq(conv);
    expect(stored).toBeGreaterThanOrEqual(Math.max(...acked));
    const seen = () => [...seqs(ys, conv), ...seqs(again, conv)];
    await until(() => Math.max(0, ...seen()) >= stored, 10000);
    expect(seen()).toEqual(range(1, stored));
    for (const seq of acked) expect(await core.messages.bySeq(conv, seq)).not.toBeNull();
  }, 90000);

  it('refuses sends across a block and in conversations of others', async () => {
    const { x, y, conv } = await pair();
    const xs = await chat(a, x);
    await core.blocks.block(y, x, new Date());
    const refused = await send(xs, conv, 'hey');
    expect(refused.type).toBe('error');
    expect(refused.data.code).toBe('forbidden');
    const other = await pair();
    const stranger = await send(xs, other.conv, 'not mine');
    expect(stranger.data.code).toBe('not_found');
    expect(await core.messages.maxSeq(conv)).toBe(0);
  });

  it('forwards typing (throttled) and read receipts to the other member', async () => {
    const { x, y, conv } = await pair();
    const [xs, ys] = await Promise.all([chat(a, x), chat(b, y)]);
    await send(xs, conv, 'read me');
    xs.send({ type: 'typing', data: { conversation_id: conv } });
    xs.send({ type: 'typing', data: { conversation_id: conv } });
    await ys.waitType('typing');
    const read = await ys.request('read', { conversation_id: conv, seq: 1 });
    expect(read.data.read_seq).toBe(1);
    expect((await xs.waitType('read')).data).toEqual({ conversation_id: conv, user_id: y, seq: 1 });
    expect(ys.frames.filter((f) => f.type === 'typing')).toHaveLength(1);
    expect(xs.frames.filter((f) => f.type === 'typing')).toHaveLength(0);
  });

  it('validates frames and enforces the documented limits and token rules', async () => {
    const user = `u_${newId()}`;
    expect(await SignalClient.upgradeStatus(a.url, 'not-a-token', { path: '/v1/chat/ws' })).toBe(401);
    const signalingAudience = (await signToken(keys.ring, { role: 'user', call_id: 'c', peer: 'host' }, { issuer: ISSUER, audience: 'signal', subject: user, ttlSec: 300 })).token;
    expect(await SignalClient.upgradeStatus(a.url, signalingAudience, { path: '/v1/chat/ws' })).toBe(401);
    const c = await chat(a, user);
    const bad = await c.request('send', { conversation_id: 'nope', client_id: 'x', text: 'hi' });
    expect(bad.data.code).toBe('validation_error');
    const unknown = await c.request('shout', {});
    expect(unknown.data.code).toBe('validation_error');
    const noId = await c.request('send', { conversation_id: newId(), client_id: 'x', text: 'hi', extra: 1 });
    expect(noId.data.details).toHaveProperty('data.extra');
    expect((await c.request('ping', { ts: 1 })).type).toBe('pong');
    const reauth = await c.request('reauth', { token: await accessToken(`u_${newId()}`) });
    expect(reauth.data.code).toBe('forbidden');
    const fresh = await c.request('reauth', { token: await accessToken(user) });
    expect(fresh.type).toBe('ack');
    const big = await chat(a, user);
    big.send(JSON.stringify({ type: 'ping', data: { ts: 1 }, pad: 'x'.repeat(70000) }));
    expect((await big.waitClose()).code).toBe(CLOSE_CODES.FRAME_TOO_LARGE);
    const expiring = await SignalClient.connect(a.url, await accessToken(`u_${newId()}`, 2), { path: '/v1/chat/ws' });
    clients.push(expiring);
    await expiring.waitType('reauth-required', 10000);
    expect((await expiring.waitClose(20000)).code).toBe(CLOSE_CODES.TOKEN_EXPIRED);
  });
});
