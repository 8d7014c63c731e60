import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceStore } from '../../shared/presence/index.js';
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
