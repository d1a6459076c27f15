// Roofline of the adapter, measured in the same run as the other suites: peak arithmetic (independent
// FMA chains, no memory traffic) and streaming bandwidth (a vec4 copy). Every other case is also
// reported as a percentage of these. Both kernels go through our runtime like any library kernel.
//
// On lavapipe these are the CPU's SIMD rates as llvmpipe compiles them: WGSL fma becomes a separate
// multiply and add, and a lane-divergent load or store is emulated one lane at a time, so the copy
// kernel measures that per-lane path, not DRAM bandwidth.

const FMA_CHAINS = 8;

const peakKernel = {
  name: 'roofline_fma',
  key: 'bench:roofline_fma',
  bindings: ['uniform', 'rw'],
  code: () => `
struct P { iters: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> O: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let s = f32(gid.x) * 1e-7;
${Array.from({ length: FMA_CHAINS }, (_, i) => `  var a${i} = vec4<f32>(s + ${i}.0, s + ${i}.25, s + ${i}.5, s + ${i}.75);`).join('\n')}
  let m = vec4<f32>(0.99991);
  let c = vec4<f32>(0.00013);
  for (var i = 0u; i < p.iters; i++) {
${Array.from({ length: FMA_CHAINS }, (_, i) => `    a${i} = fma(a${i}, m, c);`).join('\n')}
  }
  O[gid.x] = ${Array.from({ length: FMA_CHAINS }, (_, i) => `a${i}`).join(' + ')};
}`,
};

const copyKernel = {
  name: 'roofline_copy',
  key: 'bench:roofline_copy',
  bindings: ['uniform', 'read', 'rw'],
  code: () => `
struct P { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> I: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> O: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i < p.n) { O[i] = I[i]; }
}`,
};

function params(...words) {
  return new Uint32Array([...words, 0, 0, 0, 0].slice(0, 4)).buffer;
}

function peakCase(quick) {
  const groups = 256;
  const iters = quick ? 256 : 1024;
  return {
    name: 'peak FMA (independent vec4 chains)',
    roofline: 'flops',
    quick: true,
    flops: groups * 64 * iters * FMA_CHAINS * 4 * 2,
    ours: (L) => {
      const rt = L.gpuRuntime();
      const out = rt.alloc(groups * 64 * 16, 'roofline output');
      return {
        plan: `${groups}×64 invocations × ${FMA_CHAINS} vec4 FMA chains × ${iters}`,
        run: () => rt.dispatch(peakKernel, params(iters), [out], [groups, 1, 1], 'peak'),
        dispose: () => rt.free(out),
      };
    },
    peers: {},
  };
}

function copyCase(quick) {
  const mib = quick ? 8 : 64;
  const n = (mib * 1024 * 1024) / 16;
  return {
    name: `copy ${mib} MiB (vec4)`,
    roofline: 'bytes',
    quick: true,
    bytes: 2 * n * 16,
    ours: (L) => {
      const rt = L.gpuRuntime();
      const src = rt.alloc(n * 16, 'roofline source');
      const dst = rt.alloc(n * 16, 'roofline destination');
      const groups = Math.ceil(n / 64);
      const y = Math.ceil(groups / 65535);
      return {
        plan: `${n} vec4 loads + stores`,
        run: () => rt.dispatch(copyKernel, params(n), [src, dst], [Math.ceil(groups / y), y, 1], 'copy'),
        dispose: () => {
          rt.free(src);
          rt.free(dst);
        },
      };
    },
    peers: {},
  };
}

/**
 * Peak FMA rate in GFLOP/s through our runtime (the best of `reps` timings of the peak kernel:
 * GPU timestamps where the adapter has them, else wall time to sync). For suites that report a
 * share of the ceiling measured in their own process (bench/suites/model.mjs).
 */
export async function measurePeakGflops(L, { reps = 5, iters = 1024, groups = 256 } = {}) {
  const rt = L.gpuRuntime();
  const out = rt.alloc(groups * 64 * 16, 'roofline output');
  const flops = groups * 64 * iters * FMA_CHAINS * 4 * 2;
  const run = () => rt.dispatch(peakKernel, params(iters), [out], [groups, 1, 1], 'peak');
  let best = Infinity;
  try {
    run();
    await rt.sync(); // compile
    for (let i = 0; i < reps; i++) {
      let ms = await rt.timeGpu(run);
      if (ms === null) {
        const t0 = performance.now();
        run();
        await rt.sync();
        ms = performance.now() - t0;
      }
      best = Math.min(best, ms);
    }
  } finally {
    rt.free(out);
  }
  return flops / best / 1e6;
}

export default {
  name: 'roofline',
  title: 'Roofline microkernels',
  unit: 'GFLOP/s | GB/s',
  description: 'Peak arithmetic rate and streaming bandwidth of the adapter through our runtime; the ceilings the other tables are compared with.',
  order: -1,
  cases: ({ quick }) => [peakCase(quick), copyCase(quick)],
};
