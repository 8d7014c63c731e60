import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../shared/runtime/paths.js';

/** Which top-level folders each layer may import from (STYLE habit 1). */
const ALLOWED: Record<string, string[]> = {
  shared: ['shared'],
  config: ['config', 'shared'],
  api: ['api', 'shared', 'config'],
  signal: ['signal', 'shared', 'config'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function violations(layer: string): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(join(PROJECT_ROOT, layer))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2]!;
      const target = relative(PROJECT_ROOT, resolve(dirname(file), spec)).split('/')[0]!;
      if (!ALLOWED[layer]!.includes(target)) found.push(`${relative(PROJECT_ROOT, file)} imports ${spec}`);
      if (!spec.endsWith('.js') && !spec.endsWith('.json')) found.push(`${relative(PROJECT_ROOT, file)}: relative import without .js suffix: ${spec}`);
    }
  }
  return found;
}

describe('dependency direction', () => {
  for (const layer of Object.keys(ALLOWED)) {
    it(`${layer}/ imports only from ${ALLOWED[layer]!.join(', ')}`, () => {
      expect(violations(layer)).toEqual([]);
    });
  }

  it('finds a violation when there is one (the rule can fail)', () => {
    const text = "import { x } from '../../signal/main.js';";
    const match = [...text.matchAll(IMPORT)][0]!;
    expect(relative(PROJECT_ROOT, resolve(join(PROJECT_ROOT, 'api', 'http'), match[1]!)).split('/')[0]).toBe('signal');
  });
});
