import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeWithConfigTable } from '../../../scripts/config-table.js';
import { PROJECT_ROOT } from '../../../shared/runtime/paths.js';

describe('README configuration table', () => {
  it('matches the settings tables (run `npm run docs:config` after adding a setting)', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    expect(readme).toBe(readmeWithConfigTable(readme));
  });
});
