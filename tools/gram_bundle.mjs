// Bundles src/index.ts (+ src/alignment) into a private temp folder so the gram bench and scratch
// scripts can run the TypeScript sources without touching dist/ (which other work builds).
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Returns the path of an ESM bundle exporting everything src/index.ts and src/alignment export. */
export async function bundleGram(outDir = join(root, 'node_modules/.cache/dualalign-gram')) {
  mkdirSync(outDir, { recursive: true });
  const entry = join(outDir, 'entry.ts');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(entry, `export * from ${JSON.stringify(join(root, 'src/index.ts'))};\nexport * as __composed from ${JSON.stringify(join(root, 'src/alignment/composed.ts'))};\nexport * as __gramKernels from ${JSON.stringify(join(root, 'src/backend/webgpu/gram.ts'))};\nexport * as __contrastiveKernels from ${JSON.stringify(join(root, 'src/backend/webgpu/contrastive.ts'))};\n`);
  const outfile = join(outDir, 'index.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    loader: { '.wgsl': 'text' },
    outfile,
    external: ['webgpu', '@resvg/resvg-js', 'cli-progress', 'ndarray'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    nodePaths: [join(root, 'node_modules')],
    logLevel: 'warning',
    absWorkingDir: root,
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await bundleGram(process.argv[2]));
