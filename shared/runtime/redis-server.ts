import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer, type ChildServer } from './child-server.js';
import { freePort } from './net.js';
import { which } from './paths.js';

export interface SpawnedRedis {
  url: string;
  server: ChildServer;
  stop(): Promise<void>;
}

/** Starts a private, non-persistent `redis-server` from PATH on a free (or given) loopback port. */
export async function spawnRedis(port?: number): Promise<SpawnedRedis> {
  const bin = which('redis-server') ?? which('redis-server', '/usr/bin:/usr/local/bin:/usr/sbin');
  if (!bin) throw new Error('redis-server is not on PATH (install it, or set REDIS_URL)');
  const chosen = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'vidivo-redis-'));
  const server = await startChildServer(bin, [
    '--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
  ], chosen);
  return {
    url: `redis://127.0.0.1:${chosen}`,
    server,
    stop: () => server.stop().then(() => rmSync(dir, { recursive: true, force: true })),
  };
}
