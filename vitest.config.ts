import { defineConfig } from 'vitest/config';

// Fuzzing checks that no input stalls wekube's event loop for 100 ms. On 2 cores, other test files running beside
// it would starve the process and read as stalls, so the fuzz file runs alone, after everything else.
const FUZZ = 'test/faults/fuzz.e2e.test.ts';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/cluster/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [FUZZ] } },
      { extends: true, test: { name: 'fuzz', include: [FUZZ], sequence: { groupOrder: 1 } } },
    ],
  },
});
