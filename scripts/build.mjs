// Builds dist/: the Node ESM entries (dist/index.js, dist/io.js, dist/cli.js), the browser ESM
// entries (dist/browser/index.js and io.js, no Node built-ins, Dawn swapped for navigator.gpu),
// their shared chunks (chunks/) and .d.ts types.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// --outdir=DIR builds elsewhere (test/api builds a consumer's copy of the package); types need dist/.
const outArg = process.argv.find((a) => a.startsWith('--outdir='));
const out = outArg ? outArg.slice('--outdir='.length) : 'dist';
const common = { bundle: true, format: 'esm', loader: { '.wgsl': 'text' }, sourcemap: true, logLevel: 'warning', absWorkingDir: root };

// The package's entries (package.json "exports"): '.' and './io', each with a Node build and a
// browser build. Code splitting keeps one copy of the engine (one GPU runtime, one Module class)
// however many entries a program imports.
const nodeEntries = { index: 'src/index.ts', io: 'src/io/index.node.ts' };
if (existsSync(join(root, 'src/cli/main.ts'))) nodeEntries.cli = 'src/cli/main.ts';
await build({
  ...common,
  entryPoints: nodeEntries,
  outdir: out,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  target: 'node20',
  // Native and large packages stay external: they are dependencies, resolved at run time.
  external: ['webgpu', '@resvg/resvg-js', 'cli-progress', 'ndarray'],
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
  entryPoints: { index: 'src/browser.ts', io: 'src/io/index.ts' },
  outdir: join(out, 'browser'),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'browser',
  target: 'es2022',
  plugins: [browserShim],
});

// Declarations only for the package build (`npm run build`); demo/bench builds skip the type check.
// One tsc run emits every entry's types: dist/types/index.d.ts and io/index.node.d.ts (Node),
// dist/types/browser.d.ts and io/index.d.ts (the "browser" condition: no Node-only functions).
if (process.argv.includes('--types')) {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--emitDeclarationOnly'], { cwd: root, stdio: 'inherit' });
}
