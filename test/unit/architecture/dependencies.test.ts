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

/**
 * Inside api/: which of its parts each part may not import. Composition happens once, in
 * api/main.ts: services and repositories know nothing of HTTP or routes, routes get services
 * (never repositories), and nothing imports the composition root.
 */
const API_FORBIDDEN: Record<string, string[]> = {
  http: ['routes', 'services', 'repositories', 'main.ts'],
  openapi: ['routes', 'services', 'repositories', 'main.ts'],
  repositories: ['routes', 'http', 'services', 'main.ts'],
  services: ['routes', 'http', 'main.ts'],
  routes: ['repositories', 'main.ts'],
  ports: ['routes', 'http', 'services', 'repositories', 'main.ts'],
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

function apiViolations(part: string): string[] {
  const found: string[] = [];
  const apiRoot = join(PROJECT_ROOT, 'api');
  for (const file of sourceFiles(join(apiRoot, part))) {
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = match[1] ?? match[2]!;
      const target = relative(apiRoot, resolve(dirname(file), spec)).split('/')[0]!;
      if (API_FORBIDDEN[part]!.includes(target)) found.push(`${relative(PROJECT_ROOT, file)} imports ${spec}`);
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

  for (const part of Object.keys(API_FORBIDDEN)) {
    it(`api/${part}/ imports none of api/${API_FORBIDDEN[part]!.join(', api/')}`, () => {
      expect(apiViolations(part)).toEqual([]);
    });
  }

  it('api/ composes in one place: no service bag module for routes', () => {
    expect(sourceFiles(join(PROJECT_ROOT, 'api', 'services')).map((f) => relative(PROJECT_ROOT, f))).not.toContain('api/services/index.ts');
    expect(sourceFiles(join(PROJECT_ROOT, 'api', 'routes')).map((f) => relative(PROJECT_ROOT, f))).not.toContain('api/routes/index.ts');
  });

  it('finds a violation when there is one (the rule can fail)', () => {
    const text = "import { x } from '../../signal/main.js';";
    const match = [...text.matchAll(IMPORT)][0]!;
    expect(relative(PROJECT_ROOT, resolve(join(PROJECT_ROOT, 'api', 'http'), match[1]!)).split('/')[0]).toBe('signal');
    const inApi = "import type { ReadinessProbe } from '../routes/health.js';";
    const apiMatch = [...inApi.matchAll(IMPORT)][0]!;
    const target = relative(join(PROJECT_ROOT, 'api'), resolve(join(PROJECT_ROOT, 'api', 'services'), apiMatch[1]!)).split('/')[0]!;
    expect(API_FORBIDDEN['services']).toContain(target);
  });
});
