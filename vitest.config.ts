import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    // Fails a test file that leaves a process it started running (test/support/leftover-processes.ts).
    setupFiles: ['test/support/leftover-processes.ts'],
  },
});
