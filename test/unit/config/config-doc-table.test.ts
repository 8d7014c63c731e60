import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, withConfigTable } from '../../../scripts/config-table.js';

describe('docs/configuration.md table', () => {
  it('matches the settings tables (run `npm run docs:config` after adding a setting)', () => {
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    expect(doc).toBe(withConfigTable(doc));
  });
});
