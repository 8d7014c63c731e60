import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisClient, uniqueName } from '../../helpers/services.js';
import { useSignalHarness, type SpawnedNode } from '../../helpers/signal-harness.js';

describe('a signal node with Redis', () => {
  const h = useSignalHarness('node');
  const prefix = h.prefix;
  const nodeId = uniqueName('sig');
  const redis = redisClient();
  let node: SpawnedNode;

  beforeAll(async () => {
    node = await h.spawn(h.redisEnv({ NODE_ID: nodeId, SIGNAL_HEARTBEAT_MS: '200', SIGNAL_NODE_TTL_MS: '1000' }));
  });
  afterAll(() => {
    redis.disconnect();
  });

  it('answers /health with its node id and /ready with the Redis broker up', async () => {
    const health = await (await fetch(`http://127.0.0.1:${node.signalPort}/health`)).json();
    expect(health).toMatchObject({ success: true, data: { status: 'ok', node: nodeId } });
    const ready = (await (await fetch(`http://127.0.0.1:${node.signalPort}/ready`)).json()) as { data: { status: string } };
    expect(ready.data.status).toBe('ready');
  });

  it('answers HEAD without a body (with the length GET\'s body has), so pipelined requests on one connection stay in step', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(node.signalPort), '127.0.0.1');
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.split('HTTP/1.1 ').length - 1 === 3 && text.endsWith('}')) socket.end();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write('HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nHEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    const [head, missing, full] = raw.split(/(?=HTTP\/1\.1 )/).filter(Boolean);
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const fullBody = full!.slice(full!.indexOf('\r\n\r\n') + 4);
    expect(head).toMatch(new RegExp(`Content-Length: ${Buffer.byteLength(fullBody)}\r\n`, 'i'));
    expect(head!.endsWith('\r\n\r\n')).toBe(true);
    expect(missing).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(missing!.endsWith('\r\n\r\n')).toBe(true);
    expect(JSON.parse(full!.slice(full!.indexOf('\r\n\r\n') + 4))).toMatchObject({ success: true, data: { node: nodeId } });
  });

  it('keeps a liveness key with a TTL while running and removes it on SIGTERM', async () => {
    const key = `${prefix}:node:${nodeId}:alive`;
    expect(await redis.exists(key)).toBe(1);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    node.kill('SIGTERM');
    expect((await node.exited).code).toBe(0);
    expect(await redis.exists(key)).toBe(0);
  });
});
