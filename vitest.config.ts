import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    // Generous: some tests start real processes, and a busy 2-core machine is slow.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    // Two cores: more workers than that only add contention (and PGlite memory).
    maxWorkers: 2,
  },
});
