import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30000,
    hookTimeout: 120000,
    teardownTimeout: 30000,
    reporters: ['default'],
    sequence: { concurrent: false },
  },
});
