import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/**/*.test.ts',
      'sdk/test/**/*.test.ts',
      'server-stub/test/**/*.test.ts',
      'mocks/test/**/*.test.ts',
      'docs/test/**/*.test.ts',
      'examples/**/*.test.ts',
    ],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/conformance-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
