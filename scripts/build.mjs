// Builds dist/: the Node ESM entry (dist/index.js, dist/cli.js), the browser ESM bundle
// (dist/browser/index.js, no Node built-ins, Dawn swapped for navigator.gpu) and .d.ts types.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, format: 'esm', loader: { '.wgsl': 'text' }, sourcemap: true, logLevel: 'warning', absWorkingDir: root };

const nodeEntries = ['src/index.ts'];
if (existsSync(join(root, 'src/cli/main.ts'))) nodeEntries.push('src/cli/main.ts');
await build({
  ...common,
  entryPoints: Object.fromEntries(nodeEntries.map((e) => [e === 'src/index.ts' ? 'index' : 'cli', e])),
  outdir: 'dist',
  platform: 'node',
  target: 'node20',
  // Native and large packages stay external: they are dependencies, resolved at run time.
  external: ['webgpu', '@resvg/resvg-js', 'cli-progress', 'csv-parse', 'ndarray'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

const browserShim = {
  name: 'browser-shims',
  setup(b) {
    // Dawn (Node) -> navigator.gpu; Node-only modules (*.node.ts) -> not bundled.
    b.onResolve({ filter: /\/dawn\.js$/ }, (args) => ({ path: join(args.resolveDir, 'dawn-browser.ts') }));
  },
};
await build({
  ...common,
  entryPoints: { index: existsSync(join(root, 'src/browser.ts')) ? 'src/browser.ts' : 'src/index.ts' },
  outdir: 'dist/browser',
  platform: 'browser',
  target: 'es2022',
  plugins: [browserShim],
});

// Declarations only for the package build (`npm run build`); demo/bench builds skip the type check.
if (process.argv.includes('--types')) {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--emitDeclarationOnly'], { cwd: root, stdio: 'inherit' });
}
