// Elementwise fusion (src/autograd/ops/fuse.ts): one kernel for a chain, the same values and
// gradients as the op-by-op chain, float64 finite differences on the CPU reference, clear errors.
import { describe, expect, it } from 'vitest';
import { fuse, gpuRuntime, randn, tidy, tensor, type Tensor } from '../../src/index.js';
import { gradcheck, inp, parity } from './harness.js';

const biasGelu = fuse((x, a, b) => x.mul(a).add(b).gelu());
const mixed = fuse((x, y) => x.sub(y).mul(0.5).tanh().add(x.sigmoid().mul(y)).clamp(-0.8, 2).pow(2));
const shared = fuse((x) => {
  const e = x.mul(0.5).exp(); // one intermediate used three times: its gradient terms must add up
  return e.mul(e).add(e.rsub(3).abs().sqrt());
});

const cases: [string, (...t: Tensor[]) => Tensor, ReturnType<typeof inp>[]][] = [
  ['gelu(x·a + b), row broadcast', biasGelu, [inp([6, 32]), inp([6, 32]), inp([32])]],
  ['gelu(x·a + b), odd sizes and a column broadcast', biasGelu, [inp([7, 13]), inp([7, 1]), inp([13])]],
  ['a branchy chain of two inputs', mixed, [inp([5, 9]), inp([5, 9])]],
  ['a value used twice (shared subexpression)', shared, [inp([4, 6], { kind: 'unit' })]],
  ['transposed view input', biasGelu, [inp([8, 12], { view: 'T' }), inp([8, 1]), inp([1])]],
];

describe('fuse', () => {
  for (const [name, fn, specs] of cases) {
    it(`GPU = CPU reference (values and gradients): ${name}`, async () => parity(name, fn, specs));
    it(`float64 finite differences: ${name}`, async () => gradcheck(name, fn, specs));
  }

  it('equals the op-by-op chain on the GPU, in one kernel instead of three', async () => {
    const [x, a, b] = [randn([64, 256], { requiresGrad: true }), randn([64, 256]), randn([256], { requiresGrad: true })];
    const rt = gpuRuntime()!;
    const d0 = rt.dispatchCount;
    const yf = biasGelu(x, a, b);
    const fusedDispatches = rt.dispatchCount - d0;
    const d1 = rt.dispatchCount;
    const yu = x.mul(a).add(b).gelu();
    expect(fusedDispatches).toBe(1);
    expect(rt.dispatchCount - d1).toBe(3);
    const [vf, vu] = [await yf.data(), await yu.data()];
    for (let i = 0; i < vf.length; i++) expect(vf[i]).toBeCloseTo(vu[i], 5);
    yf.sum().backward();
    const [gxf, gbf] = [await x.grad!.data(), await b.grad!.data()];
    x.zeroGrad();
    b.zeroGrad();
    yu.sum().backward();
    const [gxu, gbu] = [await x.grad!.data(), await b.grad!.data()];
    for (let i = 0; i < gxf.length; i++) expect(gxf[i]).toBeCloseTo(gxu[i], 4);
    for (let i = 0; i < gbf.length; i++) expect(gbf[i]).toBeCloseTo(gbu[i], 3);
    for (const t of [x, a, b, yf, yu]) t.dispose();
  });

  it('keeps no intermediates for the backward: only the inputs are saved', () => {
    const rt = gpuRuntime()!;
    const x = randn([256, 256], { requiresGrad: true });
    const before = rt.poolStats().inUse;
    const y = fuse((v) => v.exp().mul(2).tanh().add(1))(x);
    expect(rt.poolStats().inUse - before).toBe(1); // the output alone
    tidy(() => y.sum()).backward();
    y.dispose();
    x.dispose();
  });

  it('bad input: int tensors, too many arguments, a function that returns no Expr', () => {
    const i = tensor([1, 2, 3], [3], { dtype: 'int32' });
    const f = randn([3]);
    expect(() => biasGelu(i, f, f)).toThrow(/fuse.*int32/);
    expect(() => biasGelu(f, f, f, f)).toThrow(/4 tensor arguments.*1 to 3/);
    expect(() => fuse(() => 3 as never)(f)).toThrow(/must return the Expr/);
    expect(() => fuse((x) => x)(f)).toThrow(/nothing to fuse/);
    i.dispose();
    f.dispose();
  });
});
