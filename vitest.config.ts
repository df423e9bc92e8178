import { defineConfig } from 'vitest/config';

// Multi-process tests spawn the compiled CLI and library: run `npm run build` first
// (`npm test` does).
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
