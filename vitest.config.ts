import { defineConfig } from 'vitest/config';

const unit = 'packages/*/test/unit/**/*.test.ts';
const faults = 'packages/*/test/faults/**/*.test.ts';

export default defineConfig({
  // workspace packages from their TypeScript sources (their "source" export), never a stale dist/;
  // the rest are Vite's defaults for server code
  ssr: { resolve: { conditions: ['source', 'module', 'node', 'development|production'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // two cores: files run in parallel forks, but each file owns its own database and Redis prefix
    pool: 'forks',
    maxWorkers: 2,
    // three tiers, by folder: `pnpm test:unit` is the fast loop, `pnpm test` runs all three
    projects: [
      // pure: no database, Redis, servers, child processes or sleeps
      { extends: true, test: { name: 'unit', include: [unit] } },
      // real PostgreSQL and Redis, in-process apps and servers, the real FastDFS, chromium
      { extends: true, test: { name: 'integration', include: ['packages/*/test/**/*.test.ts'], exclude: [unit, faults, '**/node_modules/**'] } },
      // real processes killed, stopped and restarted: minutes per file
      { extends: true, test: { name: 'faults', include: [faults] } },
    ],
  },
});
