import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceStore } from '../../shared/presence/index.js';
import type { Presence } from '../../signal/calls/presence.js';
import { until } from '../helpers/poll.js';

/** The PresenceStore contract (`shared/presence`), run against every implementation. */
export function presenceContract(name: string, open: () => Promise<PresenceStore>, close: () => Promise<void>): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let store: PresenceStore;
    beforeAll(async () => { store = await open(); });
    afterAll(async () => { await close(); });

    it('marks users online in one batch; unknown users are offline', async () => {
      await store.mark(['u1', 'u2'], 'node-a', 60_000);
      expect(await store.isOnline('u1')).toBe(true);
      expect(await store.isOnline('u2')).toBe(true);
      expect(await store.isOnline('nobody')).toBe(false);
      await store.mark([], 'node-a', 60_000);
    });

    it('releases a user only for the node that marked it last', async () => {
      await store.mark(['u3'], 'node-a', 60_000);
      await store.mark(['u3'], 'node-b', 60_000);
      await store.release('u3', 'node-a');
      expect(await store.isOnline('u3')).toBe(true);
      await store.release('u3', 'node-b');
      expect(await store.isOnline('u3')).toBe(false);
      await store.release('u3', 'node-b');
    });

    it('lets a mark lapse after its TTL unless refreshed', async () => {
      await store.mark(['u4', 'u5'], 'node-a', 400);
      await store.mark(['u5'], 'node-a', 60_000);
      await until(async () => !(await store.isOnline('u4')), 5_000, 'the unrefreshed mark lapses');
      expect(await store.isOnline('u5')).toBe(true);
    });
  });
}

/** A node's Presence with what the calls API reads of it in that set-up (in-process: the node itself; with Redis: the key). */
export interface HostPresenceSetup {
  node: Presence;
  /** What the calls API asks to choose `ringing` vs `waiting`. */
  isOnline(user: string): Promise<boolean>;
}

/**
 * The online rule, the same in every set-up: a user is online (a call to them starts `ringing`)
 * while they hold a signaling **or a chat** socket on some node, and offline once the last one of
 * either kind has closed.
 */
export function hostPresenceContract(name: string, open: () => Promise<HostPresenceSetup>, close: () => Promise<void>): void {
  describe(`online rule (calls API ⇄ signal node): ${name}`, () => {
    let setup: HostPresenceSetup;
    beforeAll(async () => { setup = await open(); });
    afterAll(async () => { await close(); });

    it('a chat socket alone counts as online, and so does a signaling socket alone', async () => {
      setup.node.add('h-chat', 'chat');
      setup.node.add('h-signal', 'signal');
      await until(async () => (await setup.isOnline('h-chat')) && (await setup.isOnline('h-signal')), 5_000, 'both online');
      expect(await setup.isOnline('h-none')).toBe(false);
    });

    it('stays online while a socket of either kind is left, offline after the last one', async () => {
      setup.node.add('h-both', 'chat');
      setup.node.add('h-both', 'signal');
      await until(() => setup.isOnline('h-both'), 5_000, 'online');
      setup.node.remove('h-both', 'signal');
      await new Promise((r) => setTimeout(r, 50));
      expect(await setup.isOnline('h-both')).toBe(true);
      setup.node.remove('h-both', 'chat');
      await until(async () => !(await setup.isOnline('h-both')), 5_000, 'offline after the last socket');
    });
  });
}
