import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { buildGoTool } from '../../../shared/runtime/go-tools.js';
import { resolveMongo, type ResolvedMongo } from '../../../shared/runtime/mongo/resolve.js';
import { createScratchPostgres } from '../../helpers/postgres.js';
import { mongoUrl } from '../../helpers/services.js';
import { scratchDir } from '../../helpers/scratch.js';

async function roundTrip(resolved: ResolvedMongo): Promise<unknown> {
  const client = new MongoClient(resolved.url, { serverSelectionTimeoutMS: 5000 });
  try {
    const col = client.db('resolve_check').collection('things');
    await col.insertOne({ _id: 'a' as never, value: 42 });
    return (await col.findOne({ _id: 'a' as never }))?.['value'];
  } finally {
    await client.close();
  }
}

describe('database resolution', () => {
  it('uses MONGO_URL when given, and stop() leaves that server alone', async () => {
    const resolved = await resolveMongo({ url: mongoUrl(), dataDir: '/nonexistent' });
    expect(resolved.source).toBe('MONGO_URL');
    expect(resolved.url).toBe(mongoUrl());
    await resolved.stop();
    const client = new MongoClient(mongoUrl());
    await expect(client.db('admin').command({ ping: 1 })).resolves.toMatchObject({ ok: 1 });
    await client.close();
  });

  it('prefers a ferretdb on PATH over the cached build, and stops it', async () => {
    const binDir = scratchDir('path');
    symlinkSync(await buildGoTool('ferretdb'), join(binDir, 'ferretdb'));
    const resolved = await resolveMongo({ dataDir: '/unused', ephemeral: true, path: binDir });
    expect(resolved.source).toBe('ferretdb');
    expect(await roundTrip(resolved)).toBe(42);
    await resolved.stop();
    await resolved.stop();
    const client = new MongoClient(resolved.url, { serverSelectionTimeoutMS: 1000 });
    await expect(client.db('admin').command({ ping: 1 })).rejects.toThrow();
    await client.close();
  });

  it('falls back to the FerretDB built with Go into .cache/bin, with persistent data', async () => {
    const dataDir = scratchDir('data');
    const first = await resolveMongo({ dataDir, path: '/nonexistent' });
    expect(first.source).toBe('ferretdb-built');
    expect(first.reason).toContain('.cache/bin');
    expect(await roundTrip(first)).toBe(42);
    await first.stop();
    const second = await resolveMongo({ dataDir, path: '/nonexistent' });
    const client = new MongoClient(second.url);
    expect((await client.db('resolve_check').collection('things').findOne({}))?.['value']).toBe(42);
    await client.close();
    await second.stop();
  });

  const postgres = createScratchPostgres();
  it.skipIf(!postgres)('runs FerretDB on a PostgreSQL database when FERRETDB_POSTGRESQL_URL is given', async () => {
    try {
      const resolved = await resolveMongo({ dataDir: '/unused', ephemeral: true, path: '/nonexistent', ferretPostgresUrl: postgres!.url });
      expect(resolved.reason).toContain('PostgreSQL backend');
      expect(await roundTrip(resolved)).toBe(42);
      await resolved.stop();
    } finally {
      postgres!.drop();
    }
  });
});
