import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, TOOLS_BIN_DIR, which } from './paths.js';

const run = promisify(execFile);

/** Go-built servers the project uses, as packages of the pinned module in scripts/tools. */
export const GO_TOOLS = {
  ferretdb: './ferretdb',
  'stripe-mock': 'github.com/stripe/stripe-mock',
} as const;

export type GoTool = keyof typeof GO_TOOLS;

const TOOLS_SOURCE_DIR = join(PROJECT_ROOT, 'scripts', 'tools');

/** Newest modification time of the tools module's sources (go.mod, go.sum, our wrappers). */
function newestToolSourceMtime(dir = TOOLS_SOURCE_DIR): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestToolSourceMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The cached binary of `tool`, unless missing or older than the sources it is built from (then it is rebuilt). */
export function cachedToolPath(tool: GoTool): string | undefined {
  const path = join(TOOLS_BIN_DIR, tool);
  if (!existsSync(path)) return undefined;
  return statSync(path).mtimeMs >= newestToolSourceMtime() ? path : undefined;
}

/**
 * Builds `tool` from the versions pinned in scripts/tools/go.mod (through the Go module proxy)
 * into .cache/bin, again whenever those sources change. Resolves to the binary's path; rejects when Go is missing.
 */
export async function buildGoTool(tool: GoTool): Promise<string> {
  const existing = cachedToolPath(tool);
  if (existing) return existing;
  const go = which('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new Error(`cannot build ${tool}: no \`go\` on PATH`);
  mkdirSync(TOOLS_BIN_DIR, { recursive: true });
  const out = join(TOOLS_BIN_DIR, tool);
  await run(go, ['build', '-buildvcs=false', '-o', out + '.tmp', GO_TOOLS[tool]], {
    cwd: TOOLS_SOURCE_DIR,
    maxBuffer: 16 * 1024 * 1024,
    timeout: 15 * 60 * 1000,
  });
  await run('mv', [out + '.tmp', out]);
  return out;
}

export function hasGo(): boolean {
  return Boolean(which('go') ?? existsSync('/usr/local/go/bin/go'));
}
