#!/usr/bin/env node
// Runs before `npm start` and `npm test`: installs dependencies when node_modules is missing or
// older than the lockfile, then compiles TypeScript to dist/. Plain JS: it must run before the build.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, MONGOMS_DISABLE_POSTINSTALL: '1' } });

const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('[setup] installing dependencies (npm ci)');
  run(npm, ['ci', '--no-audit', '--no-fund']);
}
console.log('[setup] compiling TypeScript');
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
