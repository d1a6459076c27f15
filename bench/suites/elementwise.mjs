// Elementwise suite: broadcast add / mul and the chain gelu(x·a + b) over a [rows, n] fp32 tensor.
// GB/s of the minimum traffic: read x once, write y once (the broadcast operands are small).
// Our chain runs op by op (3 kernels: mul, add, gelu, like tfjs's) and fused (`fuse`: one kernel);
// gpu.js runs the chain as the one kernel written for it, jax-js as one jit-compiled kernel.
// gelu is the tanh approximation everywhere (tfjs has no gelu: composed from its ops).
import { randomData } from '../harness.mjs';
import { oursImpl, tfjsPeers } from '../lib/impl.mjs';
import { gpujsImpl } from '../peers/gpujs.mjs';
import { jaxImpl } from '../peers/jax.mjs';

const K = Math.sqrt(2 / Math.PI);

function tfGelu(tf, x) {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), K);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/**
 * One case: `kind` is 'add-row' (x + b[n]), 'mul-col' (x · s[rows, 1]) or 'gelu-chain' (gelu(x·a + b));
 * `fused` runs our chain through `fuse` (one kernel) instead of op by op.
 */
function ewCase({ kind, rows, n, quick = false, fused = false }) {
  let fusedChain = null;
  const x = { data: randomData(rows * n, 11), shape: [rows, n] };
  const a = { data: randomData(n, 12), shape: [n] };
  const b = { data: randomData(n, 13), shape: [n] };
  const s = { data: randomData(rows, 14), shape: [rows, 1] };
  const spec = {
    'add-row': {
      name: `x + b[${n}] (row broadcast), ${rows}×${n}`,
      inputs: [x, b],
      ours: (L, X, B) => L.add(X, B),
      tf: (tf, X, B) => tf.add(X, B),
      jax: (j, X, B) => X.add(B),
      gpujs: function (X, B) {
        return X[this.thread.x] + B[this.thread.x % this.constants.n];
      },
    },
    'mul-col': {
      name: `x · s[${rows}, 1] (column broadcast), ${rows}×${n}`,
      inputs: [x, s],
      ours: (L, X, S) => L.mul(X, S),
      tf: (tf, X, S) => tf.mul(X, S),
      jax: (j, X, S) => X.mul(S),
      gpujs: function (X, S) {
        return X[this.thread.x] * S[Math.floor(this.thread.x / this.constants.n)];
      },
    },
    'gelu-chain': {
      name: `gelu(x·a + b)${fused ? ' fused (`fuse`)' : ' op by op'}, ${rows}×${n}`,
      inputs: [x, a, b],
      ours: fused
        ? (L, X, A, B) => (fusedChain ??= L.fuse((x, a, b) => x.mul(a).add(b).gelu({ approximate: 'tanh' })))(X, A, B)
        : (L, X, A, B) => L.tidy(() => L.gelu(L.add(L.mul(X, A), B), { approximate: 'tanh' })),
      tf: (tf, X, A, B) => tfGelu(tf, tf.add(tf.mul(X, A), B)),
      jax: null, // jit-compiled below
      gpujs: function (X, A, B) {
        const i = this.thread.x % this.constants.n;
        const v = X[this.thread.x] * A[i] + B[i];
        const t = Math.tanh(this.constants.k * (v + 0.044715 * v * v * v));
        return 0.5 * v * (1 + t);
      },
    },
  }[kind];
  return {
    name: spec.name,
    quick,
    bytes: 2 * rows * n * 4,
    shape: { rows, n },
    tolerance: 1e-4,
    ours: (L) => oursImpl(L, spec.inputs, (...t) => spec.ours(L, ...t)),
    peers: {
      ...tfjsPeers(spec.inputs, spec.tf),
      'gpujs-webgpu': (c) =>
        gpujsImpl(c, c.gpu.createKernel(spec.gpujs, { constants: { n, k: K }, output: [rows * n], pipeline: true }), spec.inputs.map((i) => i.data)),
      'jax-webgpu': (j) => {
        const fn = spec.jax ? (...t) => spec.jax(j, ...t) : j.jit((X, A, B) => j.nn.gelu(X.mul(A).add(B), { approximate: true }));
        return jaxImpl(j, spec.inputs, fn);
      },
    },
  };
}

export default {
  name: 'elementwise',
  title: 'Elementwise (broadcast, and a chain op by op vs fused)',
  unit: 'GB/s',
  description:
    'GB/s of the minimum traffic (read x, write y). The gelu(x·a+b) chain runs op by op (3 kernels, as in tfjs, whose gelu is composed: more) ' +
    'and fused (`fuse`: 1 kernel, as gpu.js\'s hand-written kernel and jax-js\'s `jit`).',
  cases: ({ quick }) => {
    const [rows, n] = quick ? [256, 1024] : [4096, 1024];
    return [
      ewCase({ kind: 'add-row', rows, n }),
      ewCase({ kind: 'mul-col', rows, n }),
      ewCase({ kind: 'gelu-chain', rows, n, quick: true }),
      ewCase({ kind: 'gelu-chain', rows, n, quick: true, fused: true }),
    ];
  },
};
