// Which matmul kernel the library picks for a case ('simd S=8 TM=32 packA(vec4) directB', 'tiled
// 64x64 vec4A vec4B', ...): src/backend/webgpu/matmul.ts's planner, bundled on the fly with esbuild. It is a
// pure function of the adapter info, the operand views and DUALALIGN_MATMUL, so this copy plans
// exactly what dist/index.js runs. Returns null when it cannot be loaded (the report then omits it).
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let mod;

async function load() {
  if (mod !== undefined) return mod;
  try {
    const { build } = await import('esbuild');
    const out = await build({
      entryPoints: [join(root, 'src/backend/webgpu/matmul.ts')],
      bundle: true,
      format: 'esm',
      platform: 'node',
      write: false,
      loader: { '.wgsl': 'text' },
      logLevel: 'silent',
    });
    const code = out.outputFiles[0].text;
    mod = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  } catch {
    mod = null;
  }
  return mod;
}

/** Description of the kernel plan for a @ b (tensors of the library), or null. */
export async function matmulPlan(L, a, b) {
  const m = await load();
  const rt = L.gpuRuntime?.();
  if (!m || !rt) return null;
  const r = a.shape.length;
  // The planner sees the operands as matmul() passes them: batch dims broadcast to a common shape.
  const batch = [];
  const ar = a.shape.length;
  const br = b.shape.length;
  const n = Math.max(ar, br) - 2;
  for (let i = 0; i < n; i++) {
    const da = a.shape[ar - 2 - n + i] ?? 1;
    const db = b.shape[br - 2 - n + i] ?? 1;
    batch.push(Math.max(da, db));
  }
  const view = (t) => {
    const tr = t.shape.length;
    const pad = n + 2 - tr;
    const shape = [...batch, t.shape[tr - 2], t.shape[tr - 1]];
    const strides = shape.map((_, i) => {
      if (i >= n) return t.strides[i - pad];
      const j = i - pad;
      return j < 0 || t.shape[j] === 1 ? 0 : t.strides[j];
    });
    return { storage: null, shape, strides, offset: t.offset, dtype: t.dtype };
  };
  void r;
  try {
    return m.describePlan(m.planMatmul(rt, view(a), view(b)));
  } catch {
    return null;
  }
}
