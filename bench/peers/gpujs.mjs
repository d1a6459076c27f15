// gpu.js peer in its WebGPU mode (`new GPU({ mode: 'webgpu' })`, gpu.js >= 2.20): kernels written in
// gpu.js's JavaScript kernel language, compiled by gpu.js to WGSL and run on Dawn through the
// navigator.gpu we install (the same adapter as ours). Inputs are made GPU-resident once (an
// identity kernel in pipeline mode) and every timed kernel runs in pipeline mode, so a run is one
// dispatch with no host transfer, like ours; the fence drains gpu.js's device queue.
import { installNavigatorGpu, requireFromRoot, versionOf, describeAdapter } from './navigator.mjs';
import { concatFloat32 } from '../lib/impl.mjs';

let ctx = null;

async function load() {
  if (ctx) return ctx;
  installNavigatorGpu();
  const { GPU } = requireFromRoot('gpu.js');
  const { WebGPUContext } = requireFromRoot('gpu.js/src/backend/web-gpu/context.js');
  if (!(await GPU.isWebGPUAvailable())) throw new Error('gpu.js: GPU.isWebGPUAvailable() is false (no adapter through navigator.gpu)');
  const gpu = new GPU({ mode: 'webgpu' });
  const { adapter, device } = await WebGPUContext.acquire();
  ctx = { gpu, device, adapterInfo: adapter.info, resident: (data) => resident(gpu, data) };
  return ctx;
}

/** A GPU-resident copy of a flat Float32Array (a pipeline handle gpu.js kernels take as an array). */
async function resident(gpu, data) {
  const k = gpu.createKernel(function (a) {
    return a[this.thread.x];
  }, { output: [data.length], pipeline: true });
  const handle = await k(data);
  return { handle, dispose: () => k.destroy() };
}

/**
 * C[z][y][x] = Σ_k A[z·sA + y·aR + k·aK] · B[z·sB + k·bK + x·bC], all operands flat: one thread
 * per output element, the loop gpu.js's README shows for matmul.
 */
export function gpujsMatmulKernel(gpu, { batch, M, K, N, aR, aK, bK, bC, sA, sB }) {
  return gpu.createKernel(
    function (a, b) {
      let s = 0;
      const ao = this.thread.z * this.constants.sA + this.thread.y * this.constants.aR;
      const bo = this.thread.z * this.constants.sB + this.thread.x * this.constants.bC;
      for (let k = 0; k < this.constants.K; k++) {
        s += a[ao + k * this.constants.aK] * b[bo + k * this.constants.bK];
      }
      return s;
    },
    { constants: { K, aR, aK, bK, bC, sA, sB }, output: batch > 1 ? [N, M, batch] : [N, M], pipeline: true },
  );
}

/** Flattens a pipeline handle's values (1-, 2- or 3-D nested arrays) into one Float32Array. */
export async function flatValues(handle) {
  const v = await handle.toArray();
  const out = [];
  const walk = (x) => {
    if (x instanceof Float32Array) out.push(x);
    else for (const y of x) walk(y);
  };
  walk(v);
  return concatFloat32(out);
}

/**
 * A timed gpu.js implementation from a pipeline kernel and its resident inputs:
 * { run, output, dispose } for the harness.
 */
export async function gpujsImpl(c, kernel, inputs) {
  const res = [];
  for (const x of inputs) res.push(await c.resident(x));
  let last = null;
  return {
    run: async () => {
      last = await kernel(...res.map((r) => r.handle));
    },
    output: () => flatValues(last),
    dispose: () => {
      kernel.destroy();
      for (const r of res) r.dispose();
    },
  };
}

export const PEERS = {
  'gpujs-webgpu': {
    gpu: true,
    load,
    info: async () => ({ package: 'gpu.js', version: versionOf('gpu.js'), mode: 'webgpu', adapter: describeAdapter(ctx?.adapterInfo) }),
    fence: () => ctx.device.queue.onSubmittedWorkDone(),
  },
};
