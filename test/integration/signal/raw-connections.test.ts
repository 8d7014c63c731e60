import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoCallStore } from '../../../shared/calls/index.js';
import { freshDb, mongoUrl } from '../../helpers/services.js';
import { createCall, makeKeys, peerToken, spawnNode, until } from '../../helpers/signal-cluster.js';
import { SignalClient } from '../../helpers/ws-client.js';

const keys = makeKeys();
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

/** Tries an upgrade and /health until both succeed; the time it took (ms). */
async function honestClientServed(url: string, port: number, token: string, withinMs: number): Promise<number> {
  const started = Date.now();
  await until(async () => {
    try {
      const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
      if (health.status !== 200) return false;
      const client = await Promise.race([SignalClient.connect(url, token), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hung')), 2000))]);
      client.close();
      return true;
    } catch {
      return false;
    }
  }, withinMs, 'an honest upgrade and /health', 250);
  return Date.now() - started;
}

describe('silent TCP connections to the signal port of a 512-descriptor node', () => {
  it('are all closed by the node within the documented 30 s, after which an honest client upgrades and /health answers', async () => {
    node = await spawnNode({ MONGO_URL: mongoUrl(), MONGO_DB: db.name, JWT_KEYS_DIR: keys.dir }, { openFilesLimit: 512 });
    const call = await createCall(new MongoCallStore(db.db));
    const token = await peerToken(keys.ring, call, 'guest');
    let closed = 0;
    const opened = Date.now();
    for (let i = 0; i < 600; i += 1) {
      const socket = connect(node.signalPort!, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => { closed += 1; });
      raw.push(socket);
    }
    await until(() => closed === 600, 30000, 'every silent connection closed by the node', 100);
    const clearedMs = Date.now() - opened;
    const servedMs = await honestClientServed(node.url, node.signalPort!, token, 5000);
    console.log(`600 silent connections cleared in ${clearedMs} ms; honest client then served in ${servedMs} ms`);
  }, 90000);
});
