// Peers that look for WebGPU in a browser (tfjs-backend-webgpu, gpu.js, jax-js) read
// `navigator.gpu`: give them Dawn's, from the same `webgpu` package the library uses, so every
// GPU peer runs on the adapter ours runs on. One Dawn instance, kept alive for the process
// (an instance must outlive its devices; see src/gpu/init.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const requireFromRoot = createRequire(join(root, 'package.json'));

let gpu = null;

/** Installs navigator.gpu (Dawn) once; returns it. */
export function installNavigatorGpu() {
  if (gpu) return gpu;
  const { create, globals } = requireFromRoot('webgpu');
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) globalThis[k] = v;
  gpu = create([]);
  // Node 20 has no navigator; Node 21+ has one without gpu, hence defineProperty.
  const nav = globalThis.navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.assign(Object.create(nav), { gpu, userAgent: nav.userAgent ?? `Node.js/${process.version}` }),
    configurable: true,
    writable: true,
  });
  return gpu;
}

/** A package's installed version, or null. */
export function versionOf(pkg) {
  try {
    // Read from disk: a package whose `exports` omit ./package.json (@jax-js/jax) cannot be required for it.
    return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** "vendor architecture description" of a GPUAdapterInfo-like object. */
export const describeAdapter = (ai) => [ai?.vendor, ai?.architecture, ai?.description].filter(Boolean).join(' ') || null;
