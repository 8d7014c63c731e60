import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryHub } from '../../signal/broker/memory-broker.js';
import { RedisBroker } from '../../signal/broker/redis-broker.js';
import { freePort } from '../../shared/runtime/net.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { dropRedisPrefix, redisClient, redisUrl, uniqueName } from '../helpers/services.js';
import { brokerContract, recorder, until } from './broker.contract.js';

const hub = new MemoryHub();

brokerContract('MemoryBroker', async (nodeId, prefix) => new MemoryBroker({ nodeId, prefix, hub }), {
  transportChannels: async (prefix) => hub.channels().filter((c) => c.startsWith(`${prefix}:`)),
});

let admin: Redis;
beforeAll(() => {
  admin = redisClient();
});
afterAll(async () => {
  await admin.quit();
});

brokerContract(
  'RedisBroker',
  async (nodeId, prefix) => {
    const broker = new RedisBroker({ nodeId, prefix, url: redisUrl() });
    await broker.ready();
    return broker;
  },
  {
    transportChannels: (prefix) => admin.pubsub('CHANNELS', `${prefix}:*`) as Promise<string[]>,
    cleanup: (prefix) => dropRedisPrefix(admin, prefix),
  },
);

describe('MemoryBroker', () => {
  it('brokers without a shared hub do not reach each other', async () => {
    const a = new MemoryBroker({ nodeId: 'n1', prefix: 'p' });
    const b = new MemoryBroker({ nodeId: 'n2', prefix: 'p' });
    const atA = recorder();
    const atB = recorder();
    await a.subscribe(a.roomChannel('c'), atA.handler);
    await b.subscribe(b.roomChannel('c'), atB.handler);
    await a.publish(a.roomChannel('c'), 'only a');
    await until(() => atA.messages.length === 1, 'local delivery');
    expect(atB.messages).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('delivers asynchronously and logs failing handlers', async () => {
    const { log, lines } = capturingLogger();
    const a = new MemoryBroker({ nodeId: 'n1', prefix: 'p', log });
    const r = recorder();
    await a.subscribe('p:x', () => {
      throw new Error('boom');
    });
    await a.subscribe('p:x', r.handler);
    const publishing = a.publish('p:x', 'm');
    expect(r.messages).toEqual([]);
    await publishing;
    await until(() => r.messages.length === 1, 'delivery');
    const entry = JSON.parse(lines.find((l) => l.includes('broker handler failed')) ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ component: 'broker', node: 'n1', channel: 'p:x', msg: 'broker handler failed' });
    await a.close();
  });
});

describe('RedisBroker', () => {
  it('rejects a node id that would break the wire stamp', () => {
    expect(() => new RedisBroker({ nodeId: 'a\nb', prefix: 'p', url: redisUrl() })).toThrow(TypeError);
    expect(() => new RedisBroker({ nodeId: '', prefix: 'p', url: redisUrl() })).toThrow(TypeError);
  });

  it('publish and subscribe made before the first connection wait for it', async () => {
    const prefix = uniqueName('early');
    const a = new RedisBroker({ nodeId: 'n1', prefix, url: redisUrl() });
    const r = recorder();
    const channel = a.roomChannel('c');
    await a.subscribe(channel, r.handler);
    const b = new RedisBroker({ nodeId: 'n2', prefix, url: redisUrl() });
    await b.publish(channel, 'early');
    await until(() => r.messages.length === 1, 'delivery');
    expect(r.messages[0]).toMatchObject({ payload: 'early', from: 'n2' });
    await Promise.all([a.close(), b.close()]);
  });

  it('fails publish and subscribe when Redis is unreachable from the start', async () => {
    const port = await freePort();
    const a = new RedisBroker({ nodeId: 'n1', prefix: 'p', url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 });
    expect(a.status).toBe('down');
    await expect(a.publish('p:x', 'm')).rejects.toThrow(/not up/);
    await expect(a.subscribe('p:x', () => undefined)).rejects.toThrow(/not up/);
    await a.close();
    await expect(a.ready()).rejects.toThrow(/closed/);
  });

  it('drops messages without a node stamp and keeps delivering', async () => {
    const prefix = uniqueName('stamp');
    const a = new RedisBroker({ nodeId: 'n1', prefix, url: redisUrl() });
    const r = recorder();
    const channel = a.roomChannel('c');
    await a.subscribe(channel, r.handler);
    await admin.publish(channel, 'no stamp');
    await a.publish(channel, 'stamped');
    await until(() => r.messages.length === 1, 'stamped delivery');
    expect(r.payloads()).toEqual(['stamped']);
    await a.close();
  });
});
