// Row softmax over the last axis of a [rows, n] fp32 tensor. Throughput counts the minimum memory
// traffic, one read and one write of the tensor (2 · rows · n · 4 bytes).
import { randomData } from '../harness.mjs';

function softmaxCase({ name, rows, n, quick = false }) {
  const X = randomData(rows * n, 3).map((v) => v * 8);
  return {
    name,
    quick,
    bytes: 2 * rows * n * 4,
    shape: { rows, n },
    tolerance: 1e-4,
    ours: (L) => {
      const x = L.tensor(X, [rows, n]);
      let out = null;
      return {
        run: () => {
          out?.dispose();
          out = L.softmax(x);
        },
        output: () => out.data(),
        dispose: () => {
          out?.dispose();
          x.dispose();
        },
      };
    },
    peers: Object.fromEntries(
      ['tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu'].map((id) => [
        id,
        (tf) => {
          const x = tf.tensor(X, [rows, n]);
          let out = null;
          return {
            run: () => {
              out?.dispose();
              out = tf.softmax(x);
            },
            last: () => out,
            output: () => out.data(),
            dispose: () => {
              out?.dispose();
              x.dispose();
            },
          };
        },
      ]),
    ),
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
