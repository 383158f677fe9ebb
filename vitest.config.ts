import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // two cores: files run in parallel forks, but each file owns its own database and Redis prefix
    pool: 'forks',
    maxWorkers: 2,
  },
});
