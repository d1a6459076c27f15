// PyTorch golden values (test/fixtures/engine/golden.json, written by tools/engine_golden.py):
// outputs and gradients of sum(out * weight), on the device (float32) and on the CPU reference
// (float64, to near machine precision).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { expectClose } from './harness.js';

interface GoldenInput {
  shape: number[];
  dtype: 'int32' | 'float';
  data: number[];
}
interface GoldenCase {
  name: string;
  inputs: GoldenInput[];
  out: { shape: number[]; data: number[] };
  weight: number[];
  grads: (number[] | null)[] | null;
}

const golden = JSON.parse(readFileSync(new URL('../fixtures/engine/golden.json', import.meta.url), 'utf8')) as { torch: string; cases: GoldenCase[] };

type Fn = (...xs: Tensor[]) => Tensor;
const OPS: Record<string, Fn> = {
  gelu: (a) => a.gelu(),
  gelu_tanh: (a) => a.gelu({ approximate: 'tanh' }),
  sigmoid: (a) => a.sigmoid(),
  tanh: (a) => a.tanh(),
  exp: (a) => a.exp(),
  abs: (a) => a.abs(),
  relu: (a) => a.relu(),
  log: (a) => a.log(),
  sqrt: (a) => a.sqrt(),
  rsqrt: (a) => a.rsqrt(),
  clamp: (a) => a.clamp(-0.5, 0.7),
  pow3_negative: (a) => a.pow(3),
  pow_tensor_negative_base: (a, b) => a.pow(b),
  softmax_dim1: (a) => a.softmax(1),
  log_softmax_dim0: (a) => a.logSoftmax(0),
  logsumexp_02_keepdim: (a) => a.logsumexp([0, 2], true),
  amax_ties: (a) => a.max(1),
  amin_all_ties: (a) => a.min(),
  maximum_ties: (a, b) => a.maximum(b),
  mean_keepdim: (a) => a.mean([0, 2], true),
  layer_norm_affine: (a, w, b) => T.layerNorm(a, w, b, 1e-5),
  layer_norm_plain: (a) => T.layerNorm(a),
  normalize: (a) => a.l2Normalize(-1),
  cross_entropy: (a, t) => T.crossEntropy(a, t),
  cross_entropy_smoothing: (a, t) => T.crossEntropy(a, t, { labelSmoothing: 0.1 }),
  cross_entropy_sum: (a, t) => T.crossEntropy(a, t, { reduction: 'sum' }),
  cross_entropy_soft: (a, p) => T.crossEntropy(a, p),
  cross_entropy_soft_smoothing: (a, p) => T.crossEntropy(a, p, { labelSmoothing: 0.2 }),
  mse_loss: (a, b) => T.mseLoss(a, b),
  matmul_broadcast: (a, b) => a.matmul(b),
  matmul_vec: (a, b) => a.matmul(b),
  index_select_repeats: (a, i) => a.indexSelect(0, i),
  linear_relu: (a, w, b) => T.linear(a, w, b, 'relu'),
  dropout_eval: (a) => T.dropout(a, 0.5, false),
};

async function check(c: GoldenCase, backend: 'gpu' | 'cpu'): Promise<void> {
  const cpu = backend === 'cpu';
  const tol = cpu ? { rtol: 1e-9, atol: 1e-12 } : { rtol: 1e-4, atol: 1e-5 };
  const opts = { backend: cpu ? ('cpu' as const) : ('default' as const) };
  const inputs = c.inputs.map((inp) =>
    inp.dtype === 'int32'
      ? T.tensor(Int32Array.from(inp.data), inp.shape, opts)
      : T.tensor(cpu ? Float64Array.from(inp.data) : Float32Array.from(inp.data), inp.shape, { ...opts, dtype: cpu ? 'float64' : 'float32', requiresGrad: !!c.grads }),
  );
  const out = OPS[c.name](...inputs);
  expect(out.shape, `${c.name}: shape`).toEqual(c.out.shape);
  expectClose(await out.data(), c.out.data, `${c.name} (${backend}): output`, tol);
  if (!c.grads) return;
  const w = T.tensor(cpu ? Float64Array.from(c.weight) : Float32Array.from(c.weight), c.out.shape, { ...opts, dtype: cpu ? 'float64' : 'float32' });
  out.mul(w).sum().backward();
  for (let i = 0; i < inputs.length; i++) {
    const g = c.grads[i];
    if (!g) continue;
    expectClose(await inputs[i].grad!.data(), g, `${c.name} (${backend}): gradient of input ${i}`, tol);
  }
}

describe(`PyTorch golden values (torch ${golden.torch})`, () => {
  it('every golden case has an op here', () => {
    for (const c of golden.cases) expect(OPS[c.name], c.name).toBeTypeOf('function');
  });
  for (const c of golden.cases) {
    it(`${c.name} on the device`, () => check(c, 'gpu'));
    it(`${c.name} on the CPU reference (float64)`, () => check(c, 'cpu'));
  }
});
