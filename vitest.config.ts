import { defineConfig } from 'vitest/config';

/**
 * Two projects. `unit` (test/unit): no network, database or child processes, no global set-up;
 * runs in seconds (`npm run test:unit`). `integration` (everything else): one FerretDB and one
 * Redis for the run (test/helpers/global-setup.ts). `npm test` runs both.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30000,
    hookTimeout: 120000,
    teardownTimeout: 30000,
    reporters: ['default'],
    sequence: { concurrent: false },
    // Removes the scratch folders each test file made (test/helpers/scratch.ts).
    setupFiles: ['test/helpers/scratch-cleanup.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 10000 } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: ['test/unit/**'], globalSetup: ['test/helpers/global-setup.ts'] },
      },
    ],
  },
});
