import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MongoCallStore, type Call, type Peer } from '../shared/calls/index.js';
import { ChatCore } from '../shared/chat/chat-core.js';
import { NoChatNotifier } from '../shared/chat/events.js';
import type { MessageDocument } from '../shared/chat/mongo-messages.js';
import { newId } from '../shared/ids.js';
import { signToken } from '../shared/tokens/index.js';
import { SignalClient } from '../test/helpers/ws-client.js';
import { ISSUER, chatSocket, pool, startRig, summary, type ChatRig } from './chat-bench-setup.js';

const USAGE = `Usage: node dist/bench/chat-bench.js [options]   (npm run bench:chat -- [options])

Chat on real processes: FerretDB (PostgreSQL backend when a local server answers, else MONGO_URL),
redis-server, two signal nodes and one API process (the broadcast job). Three parts:
  delivery   --pairs senders each send to their own recipient, --rate messages/s in all for
             --seconds; latency send → recipient's 'message' frame and send → 'ack' (the ack
             follows the store). Once with both sockets on node 1, once across the two nodes.
  recovery   --missed messages stored while the recipient was away; time from its 'resume' to
             the last one.
  broadcast  --calls calls relay one frame per call every --relay-ms for --relay-sec, then a
             broadcast to --followers followers runs while they go on: relay latency before and
             during, broadcast duration, and the arrival at --sample connected followers.
  --only PARTS   comma-separated parts to run (delivery,recovery,broadcast)
  --broadcast-rate N  CHAT_BROADCAST_RATE_PER_SEC of the API process (default: the product's)
  --json      one JSON object on stdout`;

const load = () => loadavg().map((n) => Math.round(n * 100) / 100);

async function delivery(rig: ChatRig, core: ChatCore, senderNode: string, recipientNode: string, o: { pairs: number; rate: number; seconds: number }): Promise<Record<string, unknown>> {
  const pairs = await Promise.all(Array.from({ length: o.pairs }, async () => {
    const sender = `u_s${newId()}`;
    const recipient = `u_r${newId()}`;
    return { sender, recipient, conversation: (await core.conversations.findOrCreate(sender, recipient, new Date())).conversation.id };
  }));
  const sentAt = new Map<string, number>();
  const deliveryMs: number[] = [];
  const ackMs: number[] = [];
  let errors = 0;
  const sockets: Array<{ s: SignalClient; r: SignalClient }> = [];
  await pool(pairs.length, 20, async (i) => {
    const [s, r] = await Promise.all([chatSocket(rig, senderNode, pairs[i]!.sender), chatSocket(rig, recipientNode, pairs[i]!.recipient)]);
    r.onFrame = (f) => {
      const sent = f.type === 'message' ? sentAt.get(f.data.message.client_id) : undefined;
      if (sent !== undefined) deliveryMs.push(performance.now() - sent);
    };
    s.onFrame = (f) => {
      if (f.type === 'ack' && f.id) ackMs.push(performance.now() - sentAt.get(f.id)!);
      else if (f.type === 'error') errors += 1;
    };
    sockets[i] = { s, r };
  });
  const total = o.rate * o.seconds;
  const loadBefore = load();
  const began = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - began) * o.rate) / 1000));
    for (; sent < due; sent++) {
      const i = sent % pairs.length;
      const clientId = `m${sent}`;
      sentAt.set(clientId, performance.now());
      sockets[i]!.s.send({ type: 'send', id: clientId, data: { conversation_id: pairs[i]!.conversation, client_id: clientId, text: `message ${sent}` } });
    }
    await sleep(2);
  }
  const sendSec = (performance.now() - began) / 1000;
  const deadline = Date.now() + 60000;
  while (deliveryMs.length + errors < total && Date.now() < deadline) await sleep(20);
  const drainSec = (performance.now() - began) / 1000;
  for (const { s, r } of sockets) { s.close(); r.close(); }
  return {
    messages: total, rate_offered: o.rate, send_sec: round(sendSec), all_delivered_sec: round(drainSec), delivered: deliveryMs.length, acked: ackMs.length, errors,
    delivery_ms: summary(deliveryMs), ack_ms: summary(ackMs), load_before: loadBefore, load_after: load(),
  };
}

async function recovery(rig: ChatRig, core: ChatCore, node: string, missed: number): Promise<Record<string, unknown>> {
  const [sender, recipient] = [`u_s${newId()}`, `u_r${newId()}`];
  const { conversation } = await core.conversations.findOrCreate(sender, recipient, new Date());
  const at = new Date();
  const docs: MessageDocument[] = Array.from({ length: missed }, (_, i) => ({
    _id: newId(), conversation_id: conversation.id, seq: i + 1, sender_id: sender, kind: 'text', text: `missed ${i + 1}`, image_id: null,
    client_id: `c${i}`, client_key: `${sender}:c${i}`, created_at: at,
  }));
  for (let i = 0; i < docs.length; i += 500) await core.messages.collection.insertMany(docs.slice(i, i + 500));
  const client = await chatSocket(rig, node, recipient, null);
  let received = 0;
  const last = client.next((f) => f.type === 'message' && f.data.message.seq === missed, 60000);
  client.onFrame = (f) => { if (f.type === 'message') received += 1; };
  const loadBefore = load();
  const began = performance.now();
  client.send({ type: 'resume', id: 'r1', data: { conversations: { [conversation.id]: 0 } } });
  await last;
  const ms = performance.now() - began;
  client.close();
  return { missed, received, last_message_ms: round(ms), load_before: loadBefore, load_after: load() };
}

async function startCall(rig: ChatRig, store: MongoCallStore, hostNode: string, guestNode: string): Promise<{ host: SignalClient; guest: SignalClient }> {
  const at = new Date();
  const call = await store.create({
    id: newId(), link_id: newId(), short_code: newId().slice(-8), host_id: `u_h${newId()}`, guest_id: `u_g${newId()}`, guest_role: 'user',
    status: 'waiting', end_reason: null, rate: { amount: 0, currency: 'usd' }, max_duration_sec: null,
    created_at: at, ringing_at: null, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: at, version: 0,
  });
  const connect = async (peer: Peer, node: string, c: Call) => {
    const { token } = await signToken(rig.ring, { role: peer === 'host' ? 'host' : 'user', call_id: c.id, peer }, { issuer: ISSUER, audience: 'signal', subject: peer === 'host' ? c.host_id : c.guest_id, ttlSec: 3600 });
    const client = await SignalClient.connect(node, token);
    const joined = await client.join();
    if (joined.type !== 'ack') throw new Error(`join refused: ${JSON.stringify(joined)}`);
    const active = client.waitType('call-state', 60000, (f) => f.data.status === 'active').then(() => client.keepFrames(false));
    return { client, active };
  };
  const guest = await connect('guest', guestNode, call);
  const host = await connect('host', hostNode, call);
  await Promise.all([guest.active, host.active]);
  return { host: host.client, guest: guest.client };
}

async function broadcast(rig: ChatRig, o: { calls: number; followers: number; sample: number; relayMs: number; relaySec: number }): Promise<Record<string, unknown>> {
  const store = new MongoCallStore(rig.db);
  const calls: Array<{ host: SignalClient; guest: SignalClient }> = [];
  const setupBegan = performance.now();
  await pool(o.calls, 16, async (i) => { calls[i] = await startCall(rig, store, rig.nodes[i % rig.nodes.length]!, rig.nodes[(i + 1) % rig.nodes.length]!); });
  const setupSec = (performance.now() - setupBegan) / 1000;
  const hostId = `u_host${newId()}`;
  const followers = Array.from({ length: o.followers }, () => `u_f${newId()}`);
  const at = new Date();
  for (let i = 0; i < followers.length; i += 1000) {
    await rig.db.collection('follows').insertMany(followers.slice(i, i + 1000).map((f) => ({ _id: `${f}|${hostId}` as never, follower_id: f, host_id: hostId, created_at: at })));
  }
  const arrivals: number[] = [];
  let broadcastAt = 0;
  const sampled = followers.filter((_, i) => i % Math.max(1, Math.floor(o.followers / o.sample)) === 0).slice(0, o.sample);
  const samples = await Promise.all(sampled.map((f, i) => chatSocket(rig, rig.nodes[i % rig.nodes.length]!, f)));
  for (const s of samples) s.onFrame = (f) => { if (f.type === 'message') arrivals.push(performance.now() - broadcastAt); };

  let phase: 'before' | 'during' | 'after' = 'before';
  const latency = { before: [] as number[], during: [] as number[] };
  let sentFrames = 0;
  let n = 0;
  calls.forEach(({ guest }) => {
    guest.onFrame = (f) => {
      if (f.type !== 'renegotiate') return;
      const [framePhase, t] = String(f.data.reason).split(':');
      if (framePhase === 'before' || framePhase === 'during') latency[framePhase].push(performance.now() - Number(t));
    };
  });
  // Every call sends one frame per relayMs, spread over the interval in 10 ms slices.
  const slices = Math.max(1, Math.floor(o.relayMs / 10));
  const relay = setInterval(() => {
    const slice = n++ % slices;
    for (let i = slice; i < calls.length; i += slices) {
      sentFrames += 1;
      calls[i]!.host.send({ type: 'renegotiate', data: { reason: `${phase}:${performance.now().toFixed(2)}` } });
    }
  }, 10);
  await sleep(o.relaySec * 1000);
  const loadBefore = load();
  const id = newId();
  phase = 'during';
  broadcastAt = performance.now();
  await rig.db.collection('broadcasts').insertOne({
    _id: id as never, host_id: hostId, idempotency_key: id, body_hash: 'bench', text: 'New slots!', status: 'queued', total: o.followers,
    sent: 0, skipped: 0, cursor: '', lease_until: new Date(0), created_at: new Date(), updated_at: new Date(), finished_at: null,
  });
  let done: Record<string, unknown> | null = null;
  const deadline = Date.now() + 600000;
  while (!done && Date.now() < deadline) {
    await sleep(100);
    done = await rig.db.collection('broadcasts').findOne({ _id: id as never, status: 'done' });
  }
  const broadcastSec = (performance.now() - broadcastAt) / 1000;
  const loadDuring = load();
  phase = 'after';
  await sleep(1000);
  clearInterval(relay);
  for (const c of calls) { c.host.close(); c.guest.close(); }
  for (const s of samples) s.close();
  return {
    calls: o.calls, call_setup_sec: round(setupSec), relay_frames_per_sec: Math.round((o.calls * 1000) / o.relayMs), relay_frames_sent: sentFrames,
    followers: o.followers, broadcast_done_sec: round(broadcastSec), sent: done?.['sent'] ?? null, status: done ? 'done' : 'timeout',
    sample_followers: o.sample, sample_arrivals_ms: summary(arrivals),
    relay_before_ms: summary(latency.before), relay_during_ms: summary(latency.during), load_before: loadBefore, load_during: loadDuring,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pairs: { type: 'string', default: '100' }, rate: { type: 'string', default: '2000' }, seconds: { type: 'string', default: '10' },
      missed: { type: 'string', default: '1000' }, calls: { type: 'string', default: '1000' }, followers: { type: 'string', default: '10000' },
      sample: { type: 'string', default: '50' }, 'relay-ms': { type: 'string', default: '1000' }, 'relay-sec': { type: 'string', default: '10' },
      only: { type: 'string' }, 'broadcast-rate': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  const log = (line: string) => process.stderr.write(`[chat-bench] ${line}\n`);
  const nodeEnv: Record<string, string> = {
    SIGNAL_RATE_PER_SEC: '10000', SIGNAL_RATE_BURST: '10000', CHAT_USER_RATE_PER_SEC: '10000', CHAT_USER_RATE_BURST: '10000',
    SIGNAL_IDLE_TIMEOUT_MS: '3600000', SIGNAL_JOIN_TIMEOUT_MS: '60000', SIGNAL_MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
    ...(values['broadcast-rate'] ? { CHAT_BROADCAST_RATE_PER_SEC: values['broadcast-rate'] } : {}),
  };
  const report: Record<string, unknown> = { load_start: load() };
  const rig = await startRig(2, nodeEnv);
  report['database'] = rig.source;
  const core = new ChatCore(rig.db, new NoChatNotifier(), { maxTextChars: 4000 });
  const run = (part: string) => !values.only || values.only.split(',').includes(part);
  try {
    const d = { pairs: Number(values.pairs), rate: Number(values.rate), seconds: Number(values.seconds) };
    if (run('delivery')) {
      log(`delivery on one node: ${d.rate} messages/s for ${d.seconds} s over ${d.pairs} pairs`);
      report['delivery_one_node'] = await delivery(rig, core, rig.nodes[0]!, rig.nodes[0]!, d);
      log(JSON.stringify(report['delivery_one_node']));
      log('delivery across two nodes');
      report['delivery_two_nodes'] = await delivery(rig, core, rig.nodes[0]!, rig.nodes[1]!, d);
      log(JSON.stringify(report['delivery_two_nodes']));
    }
    if (run('recovery')) {
      report['recovery'] = await recovery(rig, core, rig.nodes[0]!, Number(values.missed));
      log(JSON.stringify(report['recovery']));
    }
    if (run('broadcast')) {
      log(`broadcast: ${values.calls} calls relaying, then ${values.followers} followers`);
      report['broadcast'] = await broadcast(rig, { calls: Number(values.calls), followers: Number(values.followers), sample: Number(values.sample), relayMs: Number(values['relay-ms']), relaySec: Number(values['relay-sec']) });
      log(JSON.stringify(report['broadcast']));
    }
  } finally {
    await rig.stop();
  }
  report['load_end'] = load();
  if (values.json) console.log(JSON.stringify(report));
  else console.log(JSON.stringify(report, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
