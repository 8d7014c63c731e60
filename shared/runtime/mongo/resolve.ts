import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { startChildServer, type ChildServer } from '../child-server.js';
import { buildGoTool, cachedToolPath, hasGo } from '../go-tools.js';
import { freePort } from '../net.js';
import { which } from '../paths.js';

export type MongoSource = 'MONGO_URL' | 'mongod' | 'ferretdb' | 'ferretdb-built' | 'mongodb-memory-server';

export interface ResolvedMongo {
  url: string;
  source: MongoSource;
  /** Why this source was chosen, for the start-up log. */
  reason: string;
  /** The embedded server's process id (undefined for MONGO_URL and mongodb-memory-server). */
  pid?: number | undefined;
  /** Stops the embedded server (no-op for MONGO_URL); removes temporary data. Idempotent. */
  stop(): Promise<void>;
}

export interface ResolveMongoOptions {
  url?: string | undefined;
  /** Persistent data folder; ignored when `ephemeral`. */
  dataDir: string;
  /** Keep data in a temporary folder removed on stop (tests). */
  ephemeral?: boolean;
  log?: Logger;
  /** PATH to search for mongod / ferretdb (default: process PATH). */
  path?: string;
  /** FerretDB's PostgreSQL backend (an existing database); SQLite files in the data folder when unset. */
  ferretPostgresUrl?: string | undefined;
}

/**
 * Resolves a MongoDB-compatible server in the documented order: `MONGO_URL`; `mongod` on PATH;
 * `ferretdb` on PATH; FerretDB 1.24 built with Go into .cache/bin; mongodb-memory-server.
 * Embedded servers are child processes bound to 127.0.0.1 that stop with `stop()`.
 */
export async function resolveMongo(options: ResolveMongoOptions): Promise<ResolvedMongo> {
  if (options.url) {
    return { url: options.url, source: 'MONGO_URL', reason: 'MONGO_URL is set', stop: async () => undefined };
  }
  const dataRoot = options.ephemeral ? mkdtempSync(join(tmpdir(), 'vidivo-db-')) : resolve(options.dataDir, 'db');
  const cleanup = () => { if (options.ephemeral) rmSync(dataRoot, { recursive: true, force: true }); };
  try {
    const mongod = which('mongod', options.path);
    if (mongod) return await startMongod(mongod, dataRoot, cleanup);
    const systemFerret = which('ferretdb', options.path);
    const backend = options.ferretPostgresUrl ? { postgresUrl: options.ferretPostgresUrl } : { sqliteDir: join(dataRoot, 'ferretdb') };
    const on = options.ferretPostgresUrl ? ' (PostgreSQL backend)' : ' (SQLite backend)';
    if (systemFerret) return await startFerret(systemFerret, 'ferretdb', `no mongod on PATH; ferretdb found on PATH${on}`, backend, cleanup);
    const cached = cachedToolPath('ferretdb');
    if (cached) return await startFerret(cached, 'ferretdb-built', `no mongod or ferretdb on PATH; using FerretDB built in .cache/bin${on}`, backend, cleanup);
    if (hasGo()) {
      options.log?.info('building FerretDB 1.24 with Go into .cache/bin (once, about a minute)');
      const built = await buildGoTool('ferretdb');
      return await startFerret(built, 'ferretdb-built', `no mongod or ferretdb on PATH; built FerretDB with Go${on}`, backend, cleanup);
    }
    return await startMemoryServer(dataRoot, cleanup);
  } catch (err) {
    cleanup();
    throw err;
  }
}

function wrap(server: ChildServer, source: MongoSource, reason: string, cleanup: () => void): ResolvedMongo {
  let stopped: Promise<void> | undefined;
  return {
    url: `mongodb://127.0.0.1:${server.port}/`,
    source,
    reason,
    pid: server.process.pid,
    stop: () => (stopped ??= server.stop().then(cleanup)),
  };
}

async function startMongod(bin: string, dataRoot: string, cleanup: () => void): Promise<ResolvedMongo> {
  const dbPath = join(dataRoot, 'mongod');
  mkdirSync(dbPath, { recursive: true });
  const port = await freePort();
  const server = await startChildServer(bin, ['--dbpath', dbPath, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'], port);
  return wrap(server, 'mongod', 'mongod found on PATH', cleanup);
}

type FerretBackend = { sqliteDir: string } | { postgresUrl: string };

async function startFerret(bin: string, source: MongoSource, reason: string, backend: FerretBackend, cleanup: () => void): Promise<ResolvedMongo> {
  const port = await freePort();
  let backendArgs: string[];
  if ('postgresUrl' in backend) {
    backendArgs = ['--handler=postgresql', `--postgresql-url=${backend.postgresUrl}`];
  } else {
    mkdirSync(backend.sqliteDir, { recursive: true });
    backendArgs = ['--handler=sqlite', `--sqlite-url=file:${backend.sqliteDir}/`, `--state-dir=${backend.sqliteDir}`];
  }
  const server = await startChildServer(bin, [`--listen-addr=127.0.0.1:${port}`, ...backendArgs, '--telemetry=disable', '--log-level=error'], port);
  const resolved = wrap(server, source, reason, cleanup);
  return { ...resolved, url: `${resolved.url}?maxPoolSize=${FERRET_CLIENT_POOL}` };
}

/**
 * Driver connections per client of the embedded FerretDB. FerretDB 1.24 on PostgreSQL deadlocks
 * once 50 `update` commands run at once (each holds one of its 50 pgx connections for the query
 * and waits for a second); the clients of one FerretDB must stay well under that in total.
 */
const FERRET_CLIENT_POOL = 24;

async function startMemoryServer(dataRoot: string, cleanup: () => void): Promise<ResolvedMongo> {
  const { MongoMemoryServer } = await import('mongodb-memory-server');
  const server = await MongoMemoryServer.create({ instance: { dbPath: dataRoot, ip: '127.0.0.1' } });
  let stopped: Promise<void> | undefined;
  return {
    url: server.getUri(),
    source: 'mongodb-memory-server',
    reason: 'no mongod, ferretdb or go available; downloaded mongod via mongodb-memory-server',
    stop: () => (stopped ??= server.stop({ doCleanup: false }).then(() => cleanup())),
  };
}
