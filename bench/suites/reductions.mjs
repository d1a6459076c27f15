// Reductions over rows (last axis) and columns (first axis) of a [rows, n] fp32 tensor: sum, max,
// logsumexp. GB/s of the minimum traffic: read x once (the output is n or rows values).
import { randomData } from '../harness.mjs';
import { oursImpl, tfjsPeers } from '../lib/impl.mjs';
import { jaxImpl } from '../peers/jax.mjs';

const OPS = {
  sum: { ours: (L, x, ax) => L.sum(x, ax), tf: (tf, x, ax) => tf.sum(x, ax), jax: (j, x, ax) => j.numpy.sum(x, ax) },
  max: { ours: (L, x, ax) => L.max(x, ax), tf: (tf, x, ax) => tf.max(x, ax), jax: (j, x, ax) => j.numpy.max(x, ax) },
  logsumexp: { ours: (L, x, ax) => L.logsumexp(x, ax), tf: (tf, x, ax) => tf.logSumExp(x, ax), jax: (j, x, ax) => j.nn.logsumexp(x, ax) },
};

function reduceCase({ op, axis, rows, n, quick = false }) {
  const x = { data: randomData(rows * n, 21).map((v) => v * 4), shape: [rows, n] };
  const f = OPS[op];
  return {
    name: `${op} over ${axis === 1 ? 'rows (last axis)' : 'columns (axis 0)'}, ${rows}×${n}`,
    quick,
    bytes: rows * n * 4 + (axis === 1 ? rows : n) * 4,
    shape: { rows, n, axis },
    tolerance: 1e-4,
    ours: (L) => oursImpl(L, [x], (X) => f.ours(L, X, axis)),
    peers: {
      ...tfjsPeers([x], (tf, X) => f.tf(tf, X, axis)),
      'jax-webgpu': (j) => jaxImpl(j, [x], (X) => f.jax(j, X, axis)),
    },
  };
}

export default {
  name: 'reductions',
  title: 'Reductions (sum, max, logsumexp over rows and columns)',
  unit: 'GB/s',
  description: 'GB/s of the minimum traffic (read x once, write the reduced vector). gpu.js is not a peer here (the issue asks it for matmul and elementwise only).',
  cases: ({ quick }) => {
    const [rows, n] = quick ? [512, 1024] : [4096, 1024];
    return [
      reduceCase({ op: 'sum', axis: 1, rows, n, quick: true }),
      reduceCase({ op: 'sum', axis: 0, rows, n, quick: true }),
      reduceCase({ op: 'max', axis: 1, rows, n }),
      reduceCase({ op: 'max', axis: 0, rows, n }),
      reduceCase({ op: 'logsumexp', axis: 1, rows, n }),
      reduceCase({ op: 'logsumexp', axis: 0, rows, n }),
    ];
  },
};
