// Browser tests: headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, WebGPU on
// SwiftShader. Node only serves pages and computes CPU references (init({ backend: 'cpu' })), so no
// Dawn device and no test/setup.ts here. SwiftShader is slow: generous timeouts, one worker.
import { defineConfig } from 'vitest/config';
import { wgslText } from './scripts/wgsl-plugin.mjs';

export default defineConfig({
  plugins: [wgslText()],
  // examples/web imports the package by name; resolve it to the browser entries' sources (as scripts/serve.mjs does).
  resolve: {
    alias: [
      { find: /^dualalign-gpu$/, replacement: new URL('./src/browser.ts', import.meta.url).pathname },
      { find: /^dualalign-gpu\/io$/, replacement: new URL('./src/io/index.ts', import.meta.url).pathname },
    ],
  },
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
