// Browser tests: headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, WebGPU on
// SwiftShader. Node only serves pages and computes CPU references (init({ backend: 'cpu' })), so no
// Dawn device and no test/setup.ts here. SwiftShader is slow: generous timeouts, one worker.
import { defineConfig } from 'vitest/config';
import { wgslText } from './scripts/wgsl-plugin.mjs';

export default defineConfig({
  plugins: [wgslText()],
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
