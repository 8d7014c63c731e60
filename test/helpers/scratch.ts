import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../shared/runtime/paths.js';

/** Scratch folders live in the repo's git-ignored `.data/`, never in the system temp dir. */
const ROOT = join(PROJECT_ROOT, '.data', 'test-tmp');
const made: string[] = [];

/** A fresh empty folder, removed after the test file (test/helpers/scratch-cleanup.ts). */
export function scratchDir(label: string): string {
  mkdirSync(ROOT, { recursive: true });
  const dir = mkdtempSync(join(ROOT, `${label}-`));
  made.push(dir);
  return dir;
}

/** Removes every folder `scratchDir` made in this test file. */
export function removeScratchDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
