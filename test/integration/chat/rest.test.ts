import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoCallStore } from '../../../shared/calls/index.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { createCall } from '../../helpers/signal-cluster.js';
import { call, makeGuest, makeHost, makeUser } from '../users/fixtures.js';

describe('chat REST: conversations, messages, read pointers, blocks, guest scope', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi({ env: { CHAT_MAX_TEXT_CHARS: '50' } }); });
  afterAll(async () => { await t.stop(); });

  const open = (token: string, userId: string) => call(t, 'POST', '/v1/chat/conversations', { token, body: { user_id: userId } });
  const send = (token: string, id: string, body: Record<string, unknown>) => call(t, 'POST', `/v1/chat/conversations/${id}/messages`, { token, body });

  it('creates one conversation per pair (201 then 200 from either side) and lists it with the other party', async () => {
    const a = await makeUser(t, 'user');
    const b = await makeHost(t);
    const first = await open(a.token, b.user.id);
    expect(first.status).toBe(201);
    expect(first.body.data.other).toMatchObject({ id: b.user.id, role: 'host', username: b.user.username });
    const again = await open(a.token, b.user.id);
    expect(again.status).toBe(200);
    expect(again.body.data.id).toBe(first.body.data.id);
    const reverse = await open(b.token, a.user.id);
    expect(reverse.body.data.id).toBe(first.body.data.id);
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => open(a.token, b.user.id)));
    expect(new Set(concurrent.map((r) => r.body.data.id))).toEqual(new Set([first.body.data.id]));
    expect((await open(a.token, a.user.id)).status).toBe(400);
    expect((await open(a.token, '01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
  });

  it('numbers messages 1..n, a retried client_id stores nothing, pages newest first with cursors', async () => {
    const a = await makeUser(t, 'user');
    const b = await makeUser(t, 'user');
    const conv = (await open(a.token, b.user.id)).body.data.id as string;
    const sent = [];
    for (let i = 1; i <= 5; i++) {
      const r = await send(i % 2 ? a.token : b.token, conv, { text: `m${i}`, client_id: `c${i}` });
      expect(r.status).toBe(201);
      sent.push(r.body.data);
    }
    expect(sent.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    const retry = await send(a.token, conv, { text: 'm1 (retry)', client_id: 'c1' });
    expect(retry.status).toBe(200);
    expect(retry.body.data).toEqual(sent[0]);
    const page = await call(t, 'GET', `/v1/chat/conversations/${conv}/messages?per_page=2`, { token: b.token });
    expect(page.body.data.map((m: any) => m.text)).toEqual(['m5', 'm4']);
    expect(page.body.pagination).toEqual({ page: 1, per_page: 2, total: 5, total_pages: 3 });
    const before = await call(t, 'GET', `/v1/chat/conversations/${conv}/messages?before=${sent[3].id}`, { token: b.token });
    expect(before.body.data.map((m: any) => m.seq)).toEqual([3, 2, 1]);
    const after = await call(t, 'GET', `/v1/chat/conversations/${conv}/messages?after=${sent[1].id}`, { token: b.token });
    expect(after.body.data.map((m: any) => m.seq)).toEqual([3, 4, 5]);
    const foreignCursor = await call(t, 'GET', `/v1/chat/conversations/${conv}/messages?after=01ARZ3NDEKTSV4RRFFQ69G5FAV`, { token: b.token });
    expect(foreignCursor.status).toBe(400);
    const tooLong = await send(a.token, conv, { text: 'x'.repeat(51) });
    expect(tooLong.status).toBe(400);
    expect((await send(a.token, conv, {})).status).toBe(400);
    const outsider = await makeUser(t, 'user');
    expect((await send(outsider.token, conv, { text: 'hi' })).status).toBe(404);
    expect((await call(t, 'GET', `/v1/chat/conversations/${conv}/messages`, { token: outsider.token })).status).toBe(404);
  });

  it('keeps one gap-free order under concurrent senders, and concurrent retries store once', async () => {
    const a = await makeUser(t, 'user');
    const b = await makeUser(t, 'user');
    const conv = (await open(a.token, b.user.id)).body.data.id as string;
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => send(i % 2 ? a.token : b.token, conv, { text: `x${i}`, client_id: `k${i}` })));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 201));
    expect(results.map((r) => r.body.data.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const retries = await Promise.all(Array.from({ length: 6 }, () => send(a.token, conv, { text: 'same', client_id: 'dup' })));
    expect(new Set(retries.map((r) => r.body.data.id)).size).toBe(1);
    expect(retries.filter((r) => r.status === 201).length).toBe(1);
    const all = await call(t, 'GET', `/v1/chat/conversations/${conv}/messages?per_page=100`, { token: a.token });
    expect(all.body.pagination.total).toBe(31);
  });

  it('counts unread, moves read pointers forward only, lists newest activity first, deletes for me only', async () => {
    const me = await makeUser(t, 'user');
    const x = await makeUser(t, 'user');
    const y = await makeUser(t, 'user');
    const cx = (await open(me.token, x.user.id)).body.data.id as string;
    const cy = (await open(me.token, y.user.id)).body.data.id as string;
    await send(x.token, cx, { text: 'x1' });
    await send(x.token, cx, { text: 'x2' });
    await send(y.token, cy, { text: 'y1' });
    await send(me.token, cy, { text: 'mine' });
    const listed = await call(t, 'GET', '/v1/chat/conversations', { token: me.token });
    expect(listed.body.data.map((c: any) => c.id)).toEqual([cy, cx]);
    expect(listed.body.data.map((c: any) => c.unread_count)).toEqual([1, 2]);
    expect(listed.body.data[0].last_message.text).toBe('mine');
    const unread = await call(t, 'GET', '/v1/chat/unread', { token: me.token });
    expect(unread.body.data.total).toBe(3);
    expect((await call(t, 'POST', `/v1/chat/conversations/${cx}/read`, { token: me.token, body: { seq: 1 } })).body.data.read_seq).toBe(1);
    expect((await call(t, 'POST', `/v1/chat/conversations/${cx}/read`, { token: me.token, body: { seq: 0 } })).body.data.read_seq).toBe(1);
    expect((await call(t, 'POST', `/v1/chat/conversations/${cx}/read`, { token: me.token, body: { seq: 999 } })).body.data.read_seq).toBe(2);
    expect((await call(t, 'GET', `/v1/chat/conversations/${cx}`, { token: me.token })).body.data.unread_count).toBe(0);
    expect((await call(t, 'DELETE', `/v1/chat/conversations/${cx}`, { token: me.token })).status).toBe(200);
    expect((await call(t, 'GET', '/v1/chat/conversations', { token: me.token })).body.data.map((c: any) => c.id)).toEqual([cy]);
    expect((await call(t, 'GET', `/v1/chat/conversations/${cx}/messages`, { token: me.token })).body.data).toEqual([]);
    expect((await call(t, 'GET', `/v1/chat/conversations/${cx}/messages`, { token: x.token })).body.data).toHaveLength(2);
    await send(x.token, cx, { text: 'x3' });
    const back = await call(t, 'GET', '/v1/chat/conversations', { token: me.token });
    expect(back.body.data[0]).toMatchObject({ id: cx, unread_count: 1 });
    expect((await call(t, 'GET', `/v1/chat/conversations/${cx}/messages`, { token: me.token })).body.data.map((m: any) => m.text)).toEqual(['x3']);
  });

  it('refuses new conversations and messages across a block, either way, until unblocked', async () => {
    const a = await makeUser(t, 'user');
    const b = await makeUser(t, 'user');
    const c = await makeUser(t, 'user');
    const conv = (await open(a.token, b.user.id)).body.data.id as string;
    expect((await call(t, 'POST', '/v1/chat/blocks', { token: b.token, body: { user_id: a.user.id } })).status).toBe(200);
    expect((await call(t, 'POST', '/v1/chat/blocks', { token: b.token, body: { user_id: a.user.id } })).status).toBe(200);
    expect((await send(a.token, conv, { text: 'hey' })).body.error.code).toBe('forbidden');
    expect((await send(b.token, conv, { text: 'hey' })).status).toBe(403);
    expect((await call(t, 'POST', '/v1/chat/blocks', { token: c.token, body: { user_id: a.user.id } })).status).toBe(200);
    expect((await open(a.token, c.user.id)).status).toBe(403);
    expect((await open(c.token, a.user.id)).status).toBe(403);
    expect((await call(t, 'GET', '/v1/chat/blocks', { token: b.token })).body.data.user_ids).toEqual([a.user.id]);
    expect((await call(t, 'DELETE', `/v1/chat/blocks/${a.user.id}`, { token: b.token })).status).toBe(200);
    expect((await send(a.token, conv, { text: 'back' })).status).toBe(201);
  });

  it('lets guests chat only with someone they share a call with', async () => {
    const host = await makeHost(t);
    const other = await makeHost(t);
    const guest = await makeGuest(t);
    expect((await open(guest.token, host.user.id)).status).toBe(403);
    expect((await open(host.token, guest.id)).status).toBe(403);
    await createCall(new MongoCallStore(t.db), { host_id: host.user.id, guest_id: guest.id, guest_role: 'guest' });
    const conv = await open(guest.token, host.user.id);
    expect(conv.status).toBe(201);
    expect((await open(host.token, guest.id)).body.data.id).toBe(conv.body.data.id);
    expect((await open(guest.token, other.user.id)).status).toBe(403);
    expect((await send(guest.token, conv.body.data.id, { text: 'hello host' })).status).toBe(201);
    expect((await call(t, 'GET', '/v1/chat/conversations', { token: host.token })).body.data[0].other).toMatchObject({ id: guest.id, role: 'guest' });
  });

  it('validates input and requires a token', async () => {
    const a = await makeUser(t, 'user');
    expect((await call(t, 'GET', '/v1/chat/conversations')).status).toBe(401);
    expect((await call(t, 'POST', '/v1/chat/conversations', { token: a.token, body: { user_id: 'a', extra: 1 } })).status).toBe(400);
    expect((await call(t, 'GET', '/v1/chat/conversations?per_page=101', { token: a.token })).status).toBe(400);
    expect((await call(t, 'GET', '/v1/chat/conversations/nope', { token: a.token })).status).toBe(404);
  });
});
