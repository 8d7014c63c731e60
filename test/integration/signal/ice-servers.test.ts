import { beforeAll, describe, expect, it } from 'vitest';
import type { MongoCallStore } from '../../../shared/calls/index.js';
import { coturnAccepts, signedAllocate } from '../../helpers/coturn.js';
import { createCall, peerToken } from '../../helpers/signal-cluster.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';

const TURN_SECRET = 'signal-turn-secret-0123456789abcdef';
const h = useSignalHarness('sigice');
const keys = h.keys;
let url: string;
let store: MongoCallStore;

beforeAll(async () => {
  ({ url, store } = await h.local({ STUN_URLS: '["stun:stun.example.test:3478"]', TURN_URLS: '["turn:turn.example.test:3478?transport=udp","turns:turn.example.test:5349"]', TURN_SECRET }));
});

describe('ICE servers in the join reply', () => {
  it('lists STUN_URLS and TURN_URLS with a per-user TURN credential that coturn accepts until the token expires', async () => {
    const call = await createCall(store);
    const usernames: string[] = [];
    for (const [peer, user] of [['guest', call.guest_id], ['host', call.host_id]] as const) {
      const client = await h.connectWith(url, await peerToken(keys.ring, call, peer));
      const reply = await client.join();
      expect(reply.type).toBe('ack');
      const [stun, turn, ...rest] = reply.data.ice_servers as Array<{ urls: string[]; username?: string; credential?: string }>;
      expect(rest).toEqual([]);
      expect(stun).toEqual({ urls: ['stun:stun.example.test:3478'] });
      expect(turn?.urls).toEqual(['turn:turn.example.test:3478?transport=udp', 'turns:turn.example.test:5349']);
      const expiry = reply.data.token_expires_at / 1000;
      expect(turn?.username).toBe(`${expiry}:${user}`);
      const allocate = signedAllocate(turn!.username!, turn!.credential!, 'vidivo');
      expect(coturnAccepts(TURN_SECRET, 'vidivo', allocate, Math.floor(Date.now() / 1000))).toBe(true);
      expect(coturnAccepts(TURN_SECRET, 'vidivo', allocate, expiry + 1)).toBe(false);
      expect(coturnAccepts('some-other-secret-0123456789abcdef', 'vidivo', allocate, Math.floor(Date.now() / 1000))).toBe(false);
      usernames.push(turn!.username!);
    }
    expect(new Set(usernames).size).toBe(2);
  });

  it('hands out a fresh TURN credential with the reauth ack, counted from the new token', async () => {
    const call = await createCall(store);
    const issuedEarlier = Math.floor(Date.now() / 1000) - 120;
    const client = await h.connectWith(url, await peerToken(keys.ring, call, 'guest', { ttlSec: 300, now: issuedEarlier }));
    const first = (await client.join()).data.ice_servers[1] as { username: string };
    const renewed = await client.request('reauth', { token: await peerToken(keys.ring, call, 'guest', { ttlSec: 300 }) });
    expect(renewed.type).toBe('ack');
    const turn = renewed.data.ice_servers[1] as { username: string; credential: string };
    const expiry = renewed.data.expires_at / 1000;
    expect(turn.username).toBe(`${expiry}:${call.guest_id}`);
    expect(expiry - Number(first.username.split(':')[0])).toBeGreaterThanOrEqual(119);
    expect(coturnAccepts(TURN_SECRET, 'vidivo', signedAllocate(turn.username, turn.credential, 'vidivo'), expiry - 1)).toBe(true);
  });
});
