import { defineConfig } from 'vitest/config';

// The pure machine tests (fake actors, simulated clock: fast and parallel), pure unit tests,
// and the integration tests on real Chrome, one file at a time so a 2-core machine is not
// oversubscribed and no test's timing depends on another's load.
export default defineConfig({
  test: {
    globalSetup: ['test/leak-check.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'machines', include: ['test/machines/**/*.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
    ],
  },
});
