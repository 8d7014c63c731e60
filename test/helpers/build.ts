import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../shared/runtime/paths.js';

const SOURCE_DIRS = ['api', 'signal', 'shared', 'config', 'scripts', 'bench'];

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Compiles to dist/ when any source is newer than the last build (tests spawn dist/ processes). */
export function ensureBuilt(): void {
  const marker = join(PROJECT_ROOT, 'dist', 'scripts', 'cli.js');
  const built = existsSync(marker) ? statSync(marker).mtimeMs : 0;
  const newest = Math.max(...SOURCE_DIRS.map((d) => join(PROJECT_ROOT, d)).filter(existsSync).map(newestSourceMtime));
  if (newest <= built) return;
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
}
