import { defineConfig } from 'vitest/config';
import { wgslText } from './scripts/wgsl-plugin.mjs';

export default defineConfig({
  plugins: [wgslText()],
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/browser/**', 'node_modules/**'],
    // One Dawn device per worker process; two cores, so at most two workers.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    setupFiles: ['test/setup.ts'],
  },
});
