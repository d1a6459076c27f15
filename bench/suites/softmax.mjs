// Row softmax over the last axis of a [rows, n] fp32 tensor. Throughput counts the minimum memory
// traffic, one read and one write of the tensor (2 · rows · n · 4 bytes).
import { randomData } from '../harness.mjs';
import { oursImpl, tfjsPeers } from '../lib/impl.mjs';
import { jaxImpl } from '../peers/jax.mjs';

function softmaxCase({ name, rows, n, quick = false }) {
  const X = randomData(rows * n, 3).map((v) => v * 8);
  return {
    name,
    quick,
    bytes: 2 * rows * n * 4,
    shape: { rows, n },
    tolerance: 1e-4,
    ours: (L) => oursImpl(L, [{ data: X, shape: [rows, n] }], (x) => L.softmax(x)),
    peers: {
      ...tfjsPeers([{ data: X, shape: [rows, n] }], (tf, x) => tf.softmax(x)),
      'jax-webgpu': (j) => jaxImpl(j, [{ data: X, shape: [rows, n] }], (x) => j.nn.softmax(x, -1)),
    },
  };
}

export default {
  name: 'softmax',
  title: 'Row softmax',
  unit: 'GB/s',
  description: 'softmax over the last axis; GB/s of the minimum traffic (read x once, write y once).',
  cases: ({ quick }) =>
    quick ? [softmaxCase({ name: '1024 rows × 1024', rows: 1024, n: 1024, quick: true })] : [softmaxCase({ name: '4096 rows × 1024', rows: 4096, n: 1024 })],
};
