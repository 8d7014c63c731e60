import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerStatus } from '../../signal/broker/broker.js';
import { RedisBroker } from '../../signal/broker/redis-broker.js';
import { RedisNodeRegistry } from '../../signal/broker/redis-node-registry.js';
import { freePort } from '../../shared/runtime/net.js';
import { spawnRedis, type SpawnedRedis } from '../../shared/runtime/redis-server.js';
import { recorder, until } from '../contract/broker.contract.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { dropRedisPrefix, redisClient, redisUrl, uniqueName } from '../helpers/services.js';

const root = resolve(import.meta.dirname, '../..');
const fixture = join(root, 'test/fixtures/broker-peer.mjs');

/**
 * The compiled broker for the child process: `dist/` when it is newer than every broker
 * source (the lead's `npm run build`), else a private build under `.cache/` (inside the repo
 * so `ioredis` resolves), which leaves `dist/` alone for concurrent builds.
 */
async function compiledBroker(): Promise<{ url: string; dispose(): void }> {
  const sources = readdirSync(join(root, 'signal/broker')).filter((f) => f.endsWith('.ts'));
  const fresh = sources.every((f) => {
    const out = join(root, 'dist/signal/broker', f.replace(/\.ts$/, '.js'));
    return existsSync(out) && statSync(out).mtimeMs >= statSync(join(root, 'signal/broker', f)).mtimeMs;
  });
  if (fresh) return { url: pathToFileURL(join(root, 'dist/signal/broker/redis-broker.js')).href, dispose: () => undefined };
  mkdirSync(join(root, '.cache'), { recursive: true });
  const outDir = mkdtempSync(join(root, '.cache/broker-build-'));
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [
    tsc, '--outDir', outDir, '--rootDir', root, '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2023', '--skipLibCheck', '--verbatimModuleSyntax', '--types', 'node',
    join(root, 'signal/broker/redis-broker.ts'),
  ], { cwd: root }).catch(() => undefined);
  const out = join(outDir, 'signal/broker/redis-broker.js');
  if (!existsSync(out)) throw new Error(`tsc did not produce ${out}`);
  return { url: pathToFileURL(out).href, dispose: () => rmSync(outDir, { recursive: true, force: true }) };
}

interface Peer {
  child: ChildProcess;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startPeer(env: Record<string, string>): Promise<Peer> {
  const child = spawn(process.execPath, [fixture], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolveReady) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) resolveReady();
    });
  });
  const died = exited.then(([code, signal]) => {
    throw new Error(`peer exited before ready (code ${code}, signal ${signal}): ${stderr}`);
  });
  await Promise.race([ready, died]);
  died.catch(() => undefined);
  return { child, exited };
}

describe('RedisBroker across OS processes', () => {
  let broker: { url: string; dispose(): void };
  let admin: Redis;
  let prefix = '';
  const peers: Peer[] = [];
  const brokers: RedisBroker[] = [];

  beforeAll(async () => {
    broker = await compiledBroker();
    admin = redisClient();
  });

  afterEach(async () => {
    for (const peer of peers.splice(0)) {
      if (peer.child.exitCode === null && peer.child.signalCode === null) peer.child.kill('SIGKILL');
      await peer.exited;
    }
    await Promise.all(brokers.splice(0).map((b) => b.close()));
    await dropRedisPrefix(admin, prefix);
  });

  afterAll(async () => {
    await admin.quit();
    broker.dispose();
  });

  async function setUp(): Promise<{ local: RedisBroker; inChannel: string; outChannel: string; peer: Peer }> {
    prefix = uniqueName('xproc');
    const local = new RedisBroker({ nodeId: 'test-node', prefix, url: redisUrl() });
    brokers.push(local);
    await local.ready();
    const inChannel = local.nodeChannel('peer-node');
    const outChannel = local.nodeChannel('test-node');
    const peer = await startPeer({
      BROKER_MODULE: broker.url, REDIS_URL: redisUrl(), PREFIX: prefix, NODE_ID: 'peer-node',
      IN_CHANNEL: inChannel, OUT_CHANNEL: outChannel,
    });
    peers.push(peer);
    return { local, inChannel, outChannel, peer };
  }

  it('delivers to a node in another process and back, stamped with each sender', async () => {
    const { local, inChannel, outChannel, peer } = await setUp();
    const echoes = recorder();
    await local.subscribe(outChannel, echoes.handler);
    const sent = ['ping', 'multi\nline 🎥', ''];
    for (const payload of sent) await local.publish(inChannel, payload);
    await until(() => echoes.messages.length === sent.length, 'echoes from the peer process');
    expect(echoes.messages.map((m) => m.from)).toEqual(['peer-node', 'peer-node', 'peer-node']);
    expect(echoes.messages.map((m) => JSON.parse(m.payload) as unknown)).toEqual(sent.map((payload) => ({ payload, from: 'test-node' })));

    peer.child.kill('SIGTERM');
    expect(await peer.exited).toEqual([0, null]);
    await until(async () => (await admin.pubsub('NUMSUB', inChannel))[1] === 0, 'peer subscription gone');
  });

  it('a killed peer process exits and its subscription disappears', async () => {
    const { inChannel, peer } = await setUp();
    expect((await admin.pubsub('NUMSUB', inChannel))[1]).toBe(1);
    peer.child.kill('SIGKILL');
    expect(await peer.exited).toEqual([null, 'SIGKILL']);
    await until(async () => (await admin.pubsub('NUMSUB', inChannel))[1] === 0, 'peer subscription gone');
  });
});

describe('RedisBroker across a Redis restart', () => {
  let server: SpawnedRedis | undefined;
  const closers: (() => Promise<unknown>)[] = [];

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await server?.stop();
  });

  it('reports down, fails fast, then comes back up with its subscriptions restored', async () => {
    const port = await freePort();
    server = await spawnRedis(port);
    const { log, lines } = capturingLogger();
    const prefix = uniqueName('restart');
    const broker = new RedisBroker({ nodeId: 'n1', prefix, url: server.url, log });
    closers.push(() => broker.close());
    const statuses: BrokerStatus[] = [];
    broker.onStatus((s) => statuses.push(s));
    await broker.ready();

    const registryClient = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    registryClient.on('error', () => undefined);
    closers.push(async () => registryClient.disconnect());
    const registry = new RedisNodeRegistry({ nodeId: 'n1', prefix, redis: registryClient, heartbeatMs: 50, nodeTtlMs: 1000, log });
    closers.push(() => registry.close());
    await registry.start();

    const received = recorder();
    const channel = broker.roomChannel('c');
    await broker.subscribe(channel, received.handler);
    await broker.publish(channel, 'before');
    await until(() => received.messages.length === 1, 'delivery before the restart');

    await server.stop();
    await until(() => broker.status === 'down', 'status down');
    const outcome = await Promise.race([
      broker.publish(channel, 'while down').then(() => 'published', () => 'rejected'),
      new Promise((r) => setTimeout(r, 2000, 'still pending')),
    ]);
    expect(outcome).toBe('rejected');
    await expect(broker.subscribe(broker.roomChannel('other'), () => undefined)).rejects.toThrow(/down/);
    await until(() => lines.some((l) => l.includes('node heartbeat failed')), 'heartbeat failure logged');

    server = await spawnRedis(port);
    await until(() => broker.status === 'up', 'status up again', 15_000);
    expect(statuses).toEqual(['up', 'down', 'up']);
    const probe = new Redis(port, '127.0.0.1');
    closers.push(() => probe.quit());
    expect(await probe.pubsub('CHANNELS', `${prefix}:*`)).toEqual([channel]);

    const other = new RedisBroker({ nodeId: 'n2', prefix, url: server.url });
    closers.push(() => other.close());
    await other.ready();
    await other.publish(channel, 'after');
    await until(() => received.messages.length === 2, 'delivery after the restart');
    expect(received.messages[1]).toMatchObject({ payload: 'after', from: 'n2' });
    await until(() => registry.isAlive('n1'), 'heartbeat recovered', 15_000);
    expect(lines.some((l) => l.includes('"msg":"broker down"'))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"broker up again"'))).toBe(true);
  });
});
