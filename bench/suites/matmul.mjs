// Issue 2's matmul suite: fp32 256³, 512³, 1024³, the batched 32 × (103×1024)·(1024×1024) of the
// model's projections, and transposed operands (strided views for us, transpose flags for tfjs).
import { randomData } from '../harness.mjs';
import { matmulPlan } from '../lib/plan.mjs';
import { gpujsImpl, gpujsMatmulKernel } from '../peers/gpujs.mjs';
import { jaxImpl } from '../peers/jax.mjs';
import { tfjsPeers } from '../lib/impl.mjs';

const GPUJS_MAX_FLOP = 2 * 512 ** 3;

/**
 * One matmul case. aShape / bShape are the stored shapes; ta / tb transpose the last two dims
 * (ours: a strided view, no copy; tfjs: matMul's transposeA / transposeB).
 */
function matmulCase({ name, aShape, bShape, ta = false, tb = false, quick = false }) {
  const A = randomData(aShape.reduce((x, y) => x * y, 1), 1);
  const B = randomData(bShape.reduce((x, y) => x * y, 1), 2);
  const ar = aShape.length;
  const br = bShape.length;
  const M = ta ? aShape[ar - 1] : aShape[ar - 2];
  const K = ta ? aShape[ar - 2] : aShape[ar - 1];
  const N = tb ? bShape[br - 2] : bShape[br - 1];
  const batch = aShape.slice(0, -2).reduce((x, y) => x * y, 1);
  return {
    name,
    quick,
    flops: 2 * batch * M * N * K,
    shape: { batch, M, K, N, ta, tb },
    tolerance: 1e-4,
    ours: async (L) => {
      const a0 = L.tensor(A, aShape);
      const b0 = L.tensor(B, bShape);
      const a = ta ? L.transpose(a0) : a0;
      const b = tb ? L.transpose(b0) : b0;
      let out = null;
      return {
        plan: await matmulPlan(L, a, b),
        run: () => {
          out?.dispose();
          out = L.matmul(a, b);
        },
        output: () => out.data(),
        dispose: () => {
          out?.dispose();
          for (const t of [a, b, a0, b0]) t.dispose();
        },
      };
    },
    peers: {
      ...tfjsPeers(
        [
          { data: A, shape: aShape },
          { data: B, shape: bShape },
        ],
        (tf, a, b) => tf.matMul(a, b, ta, tb),
      ),
      // gpu.js: its one-thread-per-output loop over flat operands, indexed for the transposes.
      // Up to 512³ only: the loop runs ~0.2 GFLOP/s on lavapipe, seconds per product above that.
      ...(2 * batch * M * N * K <= GPUJS_MAX_FLOP && {
        'gpujs-webgpu': (c) => {
          const [aR, aK] = ta ? [1, M] : [K, 1];
          const [bK, bC] = tb ? [1, K] : [N, 1];
          const sA = ar > 2 ? M * K : 0;
          const sB = br > 2 ? K * N : 0;
          return gpujsImpl(c, gpujsMatmulKernel(c.gpu, { batch, M, K, N, aR, aK, bK, bC, sA, sB }), [A, B]);
        },
      }),
      // jax-js: matmul of (transposed: 2-D cases only) resident operands.
      'jax-webgpu': (j) =>
        jaxImpl(
          j,
          [
            { data: A, shape: aShape },
            { data: B, shape: bShape },
          ],
          (a, b) => j.numpy.matmul(ta ? j.numpy.transpose(a) : a, tb ? j.numpy.transpose(b) : b),
        ),
    },
  };
}

export default {
  name: 'matmul',
  title: 'fp32 matmul',
  unit: 'GFLOP/s',
  description:
    'C = A·B in fp32, 2·M·N·K FLOP per product. Ours: `matmul` (one kernel plan per shape, named in the table). ' +
    'Transposed operands are strided views for us (no copy), `transposeA/B` flags for tfjs, `transpose` for jax-js and index arithmetic in the gpu.js kernel (its one-thread-per-output loop; run up to 512³ only, seconds per product above).',
  cases: () => [
    matmulCase({ name: '256×256 · 256×256', aShape: [256, 256], bShape: [256, 256], quick: true }),
    matmulCase({ name: '512×512 · 512×512', aShape: [512, 512], bShape: [512, 512] }),
    matmulCase({ name: '1024×1024 · 1024×1024', aShape: [1024, 1024], bShape: [1024, 1024] }),
    matmulCase({ name: '32 × (103×1024 · 1024×1024)', aShape: [32, 103, 1024], bShape: [1024, 1024] }),
    matmulCase({ name: '512: Aᵀ · B', aShape: [512, 512], bShape: [512, 512], ta: true }),
    matmulCase({ name: '512: A · Bᵀ', aShape: [512, 512], bShape: [512, 512], tb: true }),
    matmulCase({ name: '512: Aᵀ · Bᵀ', aShape: [512, 512], bShape: [512, 512], ta: true, tb: true }),
  ],
};
