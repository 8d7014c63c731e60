import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCore } from '../../../shared/chat/chat-core.js';
import { NoChatNotifier } from '../../../shared/chat/events.js';
import { newId } from '../../../shared/ids.js';
import { signToken } from '../../../shared/tokens/index.js';
import { startProductProcess, type ProductProcess } from '../../helpers/product-process.js';
import { freshDb, mongoUrl } from '../../helpers/services.js';
import { ISSUER, makeKeys } from '../../helpers/signal-cluster.js';
import { SignalClient } from '../../helpers/ws-client.js';

describe('chat in one process (all mode, no Redis): the socket on the API port', () => {
  const keys = makeKeys();
  let db: Awaited<ReturnType<typeof freshDb>>;
  let product: ProductProcess;
  let core: ChatCore;
  const clients: SignalClient[] = [];
  const token = async (sub: string) => (await signToken(keys.ring, { role: 'user' }, { issuer: ISSUER, audience: 'api', subject: sub, ttlSec: 900 })).token;

  beforeAll(async () => {
    db = await freshDb('chatall');
    core = new ChatCore(db.db, new NoChatNotifier(), { maxTextChars: 4000 });
    product = await startProductProcess('all', { MONGO_URL: mongoUrl(), MONGO_DB: db.name, JWT_KEYS_DIR: keys.dir, SHUTDOWN_TIMEOUT_MS: '5000' });
  }, 90000);

  afterAll(async () => {
    for (const c of clients) c.kill();
    if (product.child.exitCode === null) { product.kill('SIGKILL'); await product.exited; }
    await db?.drop();
  });

  it('serves /v1/chat/ws at the API address: a REST send arrives live, a socket send is acked and seen over REST', async () => {
    const x = `u_${newId()}`;
    const y = `u_${newId()}`;
    const { conversation } = await core.conversations.findOrCreate(x, y, new Date());
    const api = `http://127.0.0.1:${product.apiPort}`;
    const ys = await SignalClient.connect(`ws://127.0.0.1:${product.apiPort}`, await token(y), { path: '/v1/chat/ws' });
    clients.push(ys);
    await ys.waitType('ready');
    await ys.request('resume', { conversations: {} });
    const res = await fetch(`${api}/v1/chat/conversations/${conversation.id}/messages`, {
      method: 'POST', headers: { Authorization: `Bearer ${await token(x)}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'via REST', client_id: 'r1' }),
    });
    expect(res.status).toBe(201);
    const live = await ys.waitType('message');
    expect(live.data.message).toMatchObject({ seq: 1, text: 'via REST', sender_id: x });
    const ack = await ys.request('send', { conversation_id: conversation.id, client_id: 'w1', text: 'via socket' });
    expect(ack.data.message.seq).toBe(2);
    const history = await (await fetch(`${api}/v1/chat/conversations/${conversation.id}/messages`, { headers: { Authorization: `Bearer ${await token(x)}` } })).json() as any;
    expect(history.data.map((m: any) => m.text)).toEqual(['via socket', 'via REST']);
    expect(await SignalClient.upgradeStatus(`ws://127.0.0.1:${product.apiPort}`, await token(x), { path: '/v1/elsewhere' })).toBe(404);
    expect(await SignalClient.upgradeStatus(`ws://127.0.0.1:${product.apiPort}`, 'bad', { path: '/v1/chat/ws' })).toBe(401);
  });
});
