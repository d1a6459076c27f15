// Prints the WebGPU adapter Dawn finds (core first, then OpenGL ES compatibility) and exits 0,
// or exits 1 when there is none. Used by scripts/setup.sh; needs only `npm ci`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'xdg-'));
const only = process.argv[2]; // 'core' | 'compat' | undefined
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const keep = [];

async function tryAdapter(kind) {
  if (kind === 'compat') process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = create(kind === 'compat' ? ['backend=opengles'] : []);
  keep.push(gpu);
  const adapter = await gpu.requestAdapter(kind === 'compat' ? { featureLevel: 'compatibility' } : {});
  if (!adapter) return null;
  const i = adapter.info;
  return `${kind === 'compat' ? 'webgpu-compat (OpenGL ES)' : 'webgpu (core)'}: ${[i.vendor, i.architecture, i.description].filter(Boolean).join(' / ')}`;
}

for (const kind of only ? [only] : ['core', 'compat']) {
  try {
    const found = await tryAdapter(kind);
    if (found) {
      console.log(found);
      process.exit(0);
    }
  } catch (e) {
    console.error(`${kind}: ${e.message}`);
  }
}
process.exit(1);
