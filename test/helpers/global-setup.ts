import type { TestProject } from 'vitest/node';
import { resolveMongo, type ResolvedMongo } from '../../shared/runtime/mongo/resolve.js';
import { spawnRedis, type SpawnedRedis } from '../../shared/runtime/redis-server.js';
import { buildGoTool } from '../../shared/runtime/go-tools.js';
import { ensureBuilt } from './build.js';
import { createScratchPostgres, type ScratchPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUrl: string;
    mongoSource: string;
    redisUrl: string;
  }
}

let mongo: ResolvedMongo | undefined;
let redis: SpawnedRedis | undefined;
let postgres: ScratchPostgres | undefined;

/**
 * One MongoDB-compatible server and one Redis for the whole run: `TEST_MONGO_URL` /
 * `TEST_REDIS_URL` when given, else an embedded database (resolution order of DESIGN.md) and a
 * private redis-server. Tests isolate themselves by database name and key prefix.
 */
export async function setup(project: TestProject): Promise<void> {
  ensureBuilt();
  // The payments tests' Stripe stand-in (built once, and again when scripts/tools changes).
  await buildGoTool('stripe-mock');
  // FerretDB on PostgreSQL when a local server is available (indexes work there; on SQLite every
  // non-_id query scans); TEST_FERRETDB_BACKEND=sqlite forces the SQLite backend.
  if (!process.env.TEST_MONGO_URL && process.env.TEST_FERRETDB_BACKEND !== 'sqlite') postgres = createScratchPostgres();
  mongo = await resolveMongo({ url: process.env.TEST_MONGO_URL, dataDir: '.data/test', ephemeral: true, ferretPostgresUrl: postgres?.url });
  const redisUrl = process.env.TEST_REDIS_URL ?? (redis = await spawnRedis()).url;
  project.provide('mongoUrl', mongo.url);
  project.provide('mongoSource', mongo.source);
  project.provide('redisUrl', redisUrl);
  console.log(`[tests] MongoDB via ${mongo.source} (${mongo.reason}); Redis at ${redisUrl}`);
}

export async function teardown(): Promise<void> {
  await Promise.all([mongo?.stop(), redis?.stop()]);
  postgres?.drop();
}
