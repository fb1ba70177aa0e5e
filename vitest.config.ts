import { defineConfig } from 'vitest/config';

// Two projects: fast tests beside the code (real Redis, no processes), and black-box tests in
// test/ that spawn the real ingest and worker and break things. The latter run one file at a
// time: they start their own redis-server and processes, and the machine may have two cores.
// The global setup finds a Redis for the fast tests, or starts a private one.
export default defineConfig({
  test: {
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: process.env.VITEST_RESULTS ?? '.vitest-results.json' },
    globalSetup: ['@oncehook/testing/global-setup'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['apps/*/src/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
