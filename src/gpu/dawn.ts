/**
 * Node's WebGPU: Dawn through the npm package `webgpu`. The browser build swaps this module for
 * dawn-browser.ts (see scripts/build.mjs), so no Node built-in reaches the bundle.
 */
import type { TuneStore } from '../kernels/matmul-tune.js';
export async function nodeGpu(flags: string[]): Promise<GPU | null> {
  if (!process.env.XDG_RUNTIME_DIR) {
    // Mesa's drivers want a private runtime folder; headless servers often have none.
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'dualalign-xdg-'));
  }
  const mod = await import('webgpu');
  // Dawn's globals (GPUBufferUsage, GPUMapMode, ...) are needed by code written against the web API.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  // Timestamps at full resolution: Dawn rounds them to 2^16 ns by default (a browser's defence
  // against timing attacks), too coarse for profile()'s per-dispatch GPU times.
  return mod.create([...flags, 'disable-dawn-features=timestamp_quantization']) as GPU;
}

/** Where matmul tunings persist in Node: a JSON file under ~/.cache (src/kernels/matmul-tune.node.ts). */
export async function platformTuneStore(): Promise<TuneStore | null> {
  return (await import('../kernels/matmul-tune.node.js')).nodeTuneStore;
}
