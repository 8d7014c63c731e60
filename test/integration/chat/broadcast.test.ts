import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../shared/ids.js';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { until } from '../../helpers/poll.js';
import { call, makeHost, makeUser } from '../users/fixtures.js';

describe('chat follows and broadcasts', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi({ env: { CHAT_BROADCAST_BATCH: '50', CHAT_BROADCAST_RATE_PER_SEC: '5000' } }); });
  afterAll(async () => { await t.stop(); });

  it('follows and unfollows hosts idempotently and lists both sides', async () => {
    const host = await makeHost(t);
    const fan = await makeUser(t, 'user');
    const notHost = await makeUser(t, 'user');
    expect((await call(t, 'POST', '/v1/chat/follows', { token: fan.token, body: { host_id: notHost.user.id } })).status).toBe(404);
    for (let i = 0; i < 2; i++) expect((await call(t, 'POST', '/v1/chat/follows', { token: fan.token, body: { host_id: host.user.id } })).status).toBe(200);
    expect((await call(t, 'GET', '/v1/chat/following', { token: fan.token })).body.data.map((f: any) => f.user_id)).toEqual([host.user.id]);
    const followers = await call(t, 'GET', '/v1/chat/followers', { token: host.token });
    expect(followers.body.data.map((f: any) => f.user_id)).toEqual([fan.user.id]);
    expect(followers.body.pagination.total).toBe(1);
    expect((await call(t, 'GET', '/v1/chat/followers', { token: fan.token })).status).toBe(403);
    expect((await call(t, 'DELETE', `/v1/chat/follows/${host.user.id}`, { token: fan.token })).status).toBe(200);
    expect((await call(t, 'GET', '/v1/chat/following', { token: fan.token })).body.data).toEqual([]);
  });

  it('broadcasts once per idempotency key to every follower not blocked, in the background, with a status to poll', async () => {
    const host = await makeHost(t);
    const ids = Array.from({ length: 300 }, () => `u_${newId()}`);
    const at = new Date();
    await t.db.collection('follows').insertMany(ids.map((id) => ({ _id: `${id}|${host.user.id}` as never, follower_id: id, host_id: host.user.id, created_at: at })));
    await t.db.collection('blocks').insertOne({ _id: `${ids[7]}|${host.user.id}` as never, blocker_id: ids[7], blocked_id: host.user.id, created_at: at });
    const headers = { 'X-Idempotency-Key': `bc-${newId()}` };
    expect((await call(t, 'POST', '/v1/chat/broadcast', { token: host.token, body: { text: 'New slots!' } })).status).toBe(400);
    const started = await call(t, 'POST', '/v1/chat/broadcast', { token: host.token, body: { text: 'New slots!' }, headers });
    expect(started.status).toBe(202);
    expect(started.body.data).toMatchObject({ status: 'queued', total: 300, sent: 0 });
    const id = started.body.data.id as string;
    const again = await call(t, 'POST', '/v1/chat/broadcast', { token: host.token, body: { text: 'New slots!' }, headers });
    expect(again.status).toBe(200);
    expect(again.body.data.id).toBe(id);
    expect((await call(t, 'POST', '/v1/chat/broadcast', { token: host.token, body: { text: 'Other text' }, headers })).status).toBe(409);
    // Other requests are served while the job runs.
    const meanwhile = await call(t, 'GET', '/v1/chat/conversations', { token: host.token });
    expect(meanwhile.status).toBe(200);
    let status: any;
    await until(async () => {
      status = (await call(t, 'GET', `/v1/chat/broadcasts/${id}`, { token: host.token })).body.data;
      return status.status === 'done';
    }, 120000, 'broadcast done', 200);
    expect(status).toMatchObject({ status: 'done', total: 300, sent: 299, skipped: 1 });
    const messages = await t.db.collection('messages').find({ sender_id: host.user.id }).toArray();
    expect(messages).toHaveLength(299);
    expect(new Set(messages.map((m) => m['conversation_id'])).size).toBe(299);
    expect(messages.every((m) => m['seq'] === 1 && m['text'] === 'New slots!' && m['client_id'] === `bc:${id}`)).toBe(true);
    const other = await makeHost(t);
    expect((await call(t, 'GET', `/v1/chat/broadcasts/${id}`, { token: other.token })).status).toBe(404);
  }, 180000);
});
