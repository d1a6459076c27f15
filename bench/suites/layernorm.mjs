// layerNorm over the last axis of the model's [32·103, 1024] activations (weight and bias, eps 1e-5):
// forward, and forward + backward (dx for an incoming gradient g; dweight / dbias too for us).
// GB/s of the minimum traffic: forward reads x, writes y (2 passes of the tensor); forward + backward
// adds reading x and g and writing dx (5 in all). tfjs has no layerNorm: composed from moments;
// jax-js: nn.standardize · w + b, its backward through jax.grad, both jit-compiled.
import { randomData } from '../harness.mjs';
import { oursImpl, tfjsPeers } from '../lib/impl.mjs';
import { jaxImpl } from '../peers/jax.mjs';

const EPS = 1e-5;

function inputs(rows, n) {
  return {
    x: { data: randomData(rows * n, 31).map((v) => v * 3 + 0.5), shape: [rows, n] },
    w: { data: randomData(n, 32).map((v) => 1 + 0.5 * v), shape: [n] },
    b: { data: randomData(n, 33), shape: [n] },
    g: { data: randomData(rows * n, 34), shape: [rows, n] },
  };
}

function jaxLayerNorm(j, X, W, B) {
  return j.nn.standardize(X, -1, { epsilon: EPS }).mul(W).add(B);
}

function forwardCase(rows, n, quick) {
  const { x, w, b } = inputs(rows, n);
  return {
    name: `forward, ${rows}×${n}`,
    quick,
    bytes: 2 * rows * n * 4,
    shape: { rows, n },
    tolerance: 1e-4,
    ours: (L) => oursImpl(L, [x, w, b], (X, W, B) => L.layerNorm(X, W, B, EPS)),
    peers: {
      ...tfjsPeers([x, w, b], (tf, X, W, B) => {
        const { mean, variance } = tf.moments(X, -1, true);
        return tf.add(tf.mul(tf.mul(tf.sub(X, mean), tf.rsqrt(tf.add(variance, EPS))), W), B);
      }),
      'jax-webgpu': (j) => jaxImpl(j, [x, w, b], j.jit((X, W, B) => jaxLayerNorm(j, X, W, B))),
    },
  };
}

function backwardCase(rows, n, quick) {
  const { x, w, b, g } = inputs(rows, n);
  return {
    name: `forward + backward, ${rows}×${n}`,
    quick,
    bytes: 5 * rows * n * 4,
    shape: { rows, n },
    tolerance: 1e-3,
    ours: (L) => {
      const X = L.tensor(x.data, x.shape, { requiresGrad: true });
      const W = L.tensor(w.data, w.shape, { requiresGrad: true });
      const B = L.tensor(b.data, b.shape, { requiresGrad: true });
      const G = L.tensor(g.data, g.shape);
      return {
        run: () => {
          for (const t of [X, W, B]) t.zeroGrad();
          const y = L.layerNorm(X, W, B, EPS);
          y.backward(G);
          y.dispose();
        },
        output: () => X.grad.data(),
        dispose: () => {
          for (const t of [X, W, B, G]) t.dispose();
        },
      };
    },
    peers: {
      // dx of Σ g·layerNorm(x): jax.grad with respect to x, jit-compiled.
      'jax-webgpu': (j) =>
        jaxImpl(j, [x, w, b, g], j.jit(j.grad((X, W, B, Gr) => jaxLayerNorm(j, X, W, B).mul(Gr).sum()))),
    },
  };
}

export default {
  name: 'layernorm',
  title: 'layerNorm (forward, forward + backward)',
  unit: 'GB/s',
  description:
    'layerNorm over the last axis with weight and bias (eps 1e-5). GB/s of the minimum traffic: forward 2 passes (x in, y out), ' +
    'forward + backward 5 (x, y, x again, g, dx). tfjs: composed from `moments` (forward only: its gradients are not registered in the CommonJS build Node loads); ' +
    'jax-js: `nn.standardize`·w + b and its `grad`, jit-compiled.',
  cases: ({ quick }) => {
    const [rows, n] = quick ? [256, 1024] : [32 * 103, 1024];
    return [forwardCase(rows, n, true), backwardCase(rows, n, true)];
  },
};
