import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    // Wires the composition root's hooks, as every entry does (docs/architecture.md).
    setupFiles: ['tests/support/wiring.ts'],
    // Generous: some tests start real processes, and a busy 2-core machine is slow.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    // Two cores: more workers than that only add contention (and PGlite memory).
    maxWorkers: 2,
  },
});
