import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryNodeRegistry } from '../../signal/broker/memory-node-registry.js';
import type { NodeRegistry } from '../../signal/broker/node-registry.js';
import { RedisNodeRegistry } from '../../signal/broker/redis-node-registry.js';
import { dropRedisPrefix, redisClient, uniqueName } from '../helpers/services.js';
import { until } from './broker.contract.js';

interface Timing {
  heartbeatMs: number;
  nodeTtlMs: number;
}

const FAST: Timing = { heartbeatMs: 50, nodeTtlMs: 300 };

/** What every `NodeRegistry` promises about itself. */
function registryContract(
  name: string,
  makeRegistry: (nodeId: string, prefix: string, timing: Timing) => Promise<NodeRegistry>,
  cleanup?: (prefix: string) => Promise<void>,
): void {
  describe(`NodeRegistry contract: ${name}`, () => {
    let prefix = '';
    const registries: NodeRegistry[] = [];

    async function make(nodeId: string, timing = FAST): Promise<NodeRegistry> {
      const registry = await makeRegistry(nodeId, prefix, timing);
      registries.push(registry);
      return registry;
    }

    beforeEach(() => {
      prefix = uniqueName('nodes');
    });

    afterEach(async () => {
      await Promise.all(registries.splice(0).map((r) => r.close()));
      await cleanup?.(prefix);
    });

    it('a node is alive only between start and close', async () => {
      const a = await make('n1');
      expect(a.nodeId).toBe('n1');
      expect(await a.isAlive('n1')).toBe(false);
      expect(await a.aliveNodes()).toEqual([]);
      await a.start();
      expect(await a.isAlive('n1')).toBe(true);
      expect(await a.aliveNodes()).toEqual(['n1']);
      await a.close();
      expect(await a.isAlive('n1')).toBe(false);
      expect(await a.aliveNodes()).toEqual([]);
    });

    it('start is idempotent; close is idempotent; start after close rejects', async () => {
      const a = await make('n1');
      await Promise.all([a.start(), a.start()]);
      await a.start();
      expect(await a.aliveNodes()).toEqual(['n1']);
      await Promise.all([a.close(), a.close()]);
      await a.close();
      await expect(a.start()).rejects.toThrow(/closed/);
      expect(await a.isAlive('n1')).toBe(false);
    });

    it('reports unknown nodes as dead', async () => {
      const a = await make('n1');
      await a.start();
      expect(await a.isAlive('nobody')).toBe(false);
    });
  });
}

let admin: Redis;
beforeAll(() => {
  admin = redisClient();
});
afterAll(async () => {
  await admin.quit();
});

registryContract('MemoryNodeRegistry', async (nodeId) => new MemoryNodeRegistry({ nodeId }));
registryContract(
  'RedisNodeRegistry',
  async (nodeId, prefix, timing) => new RedisNodeRegistry({ nodeId, prefix, redis: admin, ...timing }),
  (prefix) => dropRedisPrefix(admin, prefix),
);

describe('RedisNodeRegistry', () => {
  let prefix = '';
  const cleanups: (() => Promise<unknown>)[] = [];

  function make(nodeId: string, redis: Redis = admin, timing = FAST): RedisNodeRegistry {
    const registry = new RedisNodeRegistry({ nodeId, prefix, redis, ...timing });
    cleanups.push(() => registry.close());
    return registry;
  }

  beforeEach(() => {
    prefix = uniqueName('nodes');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await dropRedisPrefix(admin, prefix);
  });

  it('rejects a TTL that a heartbeat cannot keep alive', () => {
    expect(() => make('n1', admin, { heartbeatMs: 100, nodeTtlMs: 100 })).toThrow(TypeError);
    expect(() => make('n1', admin, { heartbeatMs: 0, nodeTtlMs: 100 })).toThrow(TypeError);
  });

  it('keeps the alive key with a TTL and indexes nodes in a zset', async () => {
    const a = make('n1', admin, { heartbeatMs: 1000, nodeTtlMs: 5000 });
    await a.start();
    const ttl = await admin.pttl(`${prefix}:node:n1:alive`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5000);
    expect(await admin.zrange(`${prefix}:nodes`, 0, -1)).toEqual(['n1']);
  });

  it('nodes on one prefix see each other, nodes on another do not', async () => {
    const a = make('n1');
    const b = make('n2');
    await Promise.all([a.start(), b.start()]);
    expect((await a.aliveNodes()).sort()).toEqual(['n1', 'n2']);
    expect(await b.isAlive('n1')).toBe(true);
    const elsewhere = new RedisNodeRegistry({ nodeId: 'n3', prefix: uniqueName('other'), redis: admin, ...FAST });
    cleanups.push(() => elsewhere.close());
    await elsewhere.start();
    expect(await elsewhere.aliveNodes()).toEqual(['n3']);
    expect(await elsewhere.isAlive('n1')).toBe(false);
    await elsewhere.close();
  });

  it('heartbeats keep a node alive well past its TTL', async () => {
    const a = make('n1');
    const observer = make('observer');
    await a.start();
    const start = Date.now();
    let checks = 0;
    await until(async () => {
      expect(await observer.isAlive('n1')).toBe(true);
      expect(await observer.aliveNodes()).toContain('n1');
      checks += 1;
      return Date.now() - start > 4 * FAST.nodeTtlMs;
    }, 'four TTLs to pass', 10_000);
    expect(checks).toBeGreaterThan(10);
  });

  it('a node that stops heartbeating without closing is dead once its TTL runs out', async () => {
    const own = redisClient();
    const a = make('n1', own);
    const observer = make('observer');
    await a.start();
    expect(await observer.isAlive('n1')).toBe(true);
    own.disconnect();
    await until(async () => !(await observer.isAlive('n1')), 'n1 to expire', 10 * FAST.nodeTtlMs);
    expect(await observer.aliveNodes()).toEqual([]);
    await expect(a.close()).resolves.toBeUndefined();
  });

  it('close removes the node at once and leaves the borrowed client open', async () => {
    const a = make('n1', admin, { heartbeatMs: 1000, nodeTtlMs: 60_000 });
    const observer = make('observer', admin, { heartbeatMs: 1000, nodeTtlMs: 60_000 });
    await a.start();
    await a.close();
    expect(await observer.isAlive('n1')).toBe(false);
    expect(await observer.aliveNodes()).toEqual([]);
    expect(await admin.ping()).toBe('PONG');
  });
});
