import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoCallStore } from '../../../shared/calls/index.js';
import { MIN_PENDING } from '../../../signal/socket-capacity.js';
import { freshDb, mongoUrl } from '../../helpers/services.js';
import { createCall, makeKeys, peerToken, spawnNode, until } from '../../helpers/signal-cluster.js';
import { SignalClient } from '../../helpers/ws-client.js';

const keys = makeKeys();
const RAW = 600;
const HANDSHAKE_TIMEOUT_MS = 8000;
const ATTACKER_ADDRESS = '127.0.0.2';
let db: Awaited<ReturnType<typeof freshDb>>;
let node: Awaited<ReturnType<typeof spawnNode>> | undefined;
const raw: Socket[] = [];

beforeAll(async () => {
  db = await freshDb('rawconnections');
});

afterAll(async () => {
  for (const s of raw) s.destroy();
  node?.kill('SIGKILL');
  await node?.exited;
  await db?.drop();
});

function withinMs<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  return Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms))]);
}

function shedCount(metrics: string, reason: string): number {
  const match = new RegExp(`^signal_connections_shed_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(metrics);
  return match ? Number(match[1]) : 0;
}

describe('silent TCP connections to the signal port of a 512-descriptor node', () => {
  it('beyond the pending limit are closed at once, the rest after the handshake deadline; an honest client is served meanwhile', async () => {
    node = await spawnNode(
      { MONGO_URL: mongoUrl(), MONGO_DB: db.name, JWT_KEYS_DIR: keys.dir, SIGNAL_HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_TIMEOUT_MS) },
      { openFilesLimit: 512 },
    );
    const call = await createCall(new MongoCallStore(db.db));
    const token = await peerToken(keys.ring, call, 'guest');
    // The default limit for 512 descriptors: an eighth, at least MIN_PENDING.
    const maxPending = MIN_PENDING;
    const closedAfterMs: number[] = [];
    const opened = Date.now();
    for (let i = 0; i < RAW; i += 1) {
      // From another address than the honest client: an upgrade tells the node only its address (see ConnectionGate).
      const socket = connect({ port: node.signalPort!, host: '127.0.0.1', localAddress: ATTACKER_ADDRESS });
      socket.on('error', () => undefined);
      socket.on('close', () => closedAfterMs.push(Date.now() - opened));
      raw.push(socket);
    }

    await until(() => closedAfterMs.length >= RAW - maxPending, 5000, 'the connections beyond the limit closed', 50);
    const overLimitMs = Date.now() - opened;
    expect(closedAfterMs.length).toBeLessThan(RAW);

    // While the node still holds its limit of silent connections, an honest client gets through at once.
    const servedFrom = Date.now();
    const health = await withinMs(3000, '/health', fetch(`http://127.0.0.1:${node.signalPort}/health`));
    expect(health.status).toBe(200);
    const client = await withinMs(3000, 'the upgrade', SignalClient.connect(node.url, token));
    const joined = await withinMs(3000, 'the join', client.join());
    expect(joined.type).toBe('ack');
    client.close();
    const servedMs = Date.now() - servedFrom;
    const stillOpen = RAW - closedAfterMs.length;
    expect(stillOpen).toBeGreaterThan(0);

    await until(() => closedAfterMs.length === RAW, HANDSHAKE_TIMEOUT_MS + 8000, 'every silent connection closed', 100);
    const lastMs = Math.max(...closedAfterMs);
    expect(lastMs).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 100);
    const metrics = await (await fetch(`http://127.0.0.1:${node.signalPort}/metrics`)).text();
    expect(shedCount(metrics, 'over_limit')).toBeGreaterThanOrEqual(RAW - maxPending);
    expect(shedCount(metrics, 'handshake_timeout')).toBeGreaterThan(0);
    expect(shedCount(metrics, 'over_limit') + shedCount(metrics, 'handshake_timeout')).toBe(RAW);
    console.log(`${RAW} silent connections: ${RAW - maxPending} closed within ${overLimitMs} ms; honest /health + upgrade + join in ${servedMs} ms with ${stillOpen} still open; the last closed after ${lastMs} ms (deadline ${HANDSHAKE_TIMEOUT_MS} ms)`);
  }, 90000);
});
