import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { which } from '../../shared/runtime/paths.js';

export interface ScratchPostgres {
  url: string;
  drop(): void;
}

const HOST = process.env.TEST_PG_HOST ?? '127.0.0.1';
const PORT = process.env.TEST_PG_PORT ?? '5432';
const USER = process.env.TEST_PG_USER ?? 'postgres';

/**
 * A new, empty PostgreSQL database on the local server (for FerretDB's PostgreSQL backend), or
 * undefined when no server or client tools are available. `drop()` removes it.
 */
export function createScratchPostgres(): ScratchPostgres | undefined {
  if (!which('createdb') || !which('dropdb') || !which('pg_isready')) return undefined;
  const args = ['-h', HOST, '-p', PORT, '-U', USER];
  try {
    execFileSync('pg_isready', [...args, '-t', '2'], { stdio: 'ignore' });
    const name = `vidivo_test_${randomBytes(5).toString('hex')}`;
    execFileSync('createdb', [...args, '-w', name], { stdio: 'ignore' });
    return {
      url: `postgres://${USER}@${HOST}:${PORT}/${name}`,
      drop: () => { try { execFileSync('dropdb', [...args, '-w', '--force', name], { stdio: 'ignore' }); } catch { /* already gone */ } },
    };
  } catch {
    return undefined;
  }
}
