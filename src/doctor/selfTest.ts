/**
 * selfTest(): runs every kernel family on the adapter init() picked, at a few shapes (odd sizes,
 * vec4-friendly sizes, grids past 65,535 workgroups in one dimension), against the CPU float64
 * reference backend, and reports pass / fail per family with the worst error and its tolerance.
 * `dualalign doctor` prints it. A failure names the adapter, so a user can file it.
 *
 * Each case builds its inputs twice from the same host numbers (float32 on the device, float64 on
 * the CPU reference), runs the same ops, backpropagates the same upstream gradient, and compares the
 * outputs and every input gradient by max |device − reference| / max |reference| (the error
 * relative to the tensor's scale).
 */
import { deviceInfo, gpuRuntime, isInitialized } from '../gpu/init.js';
import { GpuError } from '../gpu/errors.js';
import { scope } from '../autograd/engine.js';
import type { Tensor } from '../autograd/tensor.js';
import { tensor } from '../autograd/ops/creation.js';
import { manualSeed } from '../autograd/ops/random.js';
import { rand, randn } from '../autograd/ops/creation.js';
import { argmax, logsumexp, max, mean, min, sum } from '../autograd/ops/reduce.js';
import { indexSelect, oneHot, transpose } from '../autograd/ops/shape.js';
import { linear, matmul } from '../autograd/ops/linalg.js';
import { dropout, layerNorm, logSoftmax, softmax } from '../autograd/ops/nn.js';
import { crossEntropy } from '../autograd/ops/losses.js';
import { fuse } from '../autograd/ops/fuse.js';
import { gramVolumeMatrix } from '../alignment/ops.js';
import { gramContrastiveLoss } from '../alignment/losses.js';
import { crossAttention } from '../attention/crossAttention.js';
import { AdamW } from '../optim/index.js';
import { mulberry32 } from '../data/prng.js';

/** The kernel families, in the order they run. */
export const SELF_TEST_FAMILIES = [
  'elementwise',
  'reduction',
  'softmax',
  'layerNorm',
  'matmul',
  'indexing',
  'random',
  'gram',
  'attention',
  'optimizer',
  'fuse',
] as const;
export type SelfTestFamily = (typeof SELF_TEST_FAMILIES)[number];

export interface SelfTestFamilyResult {
  family: SelfTestFamily;
  passed: boolean;
  /** Largest error over the family's cases and tensors, relative to each tensor's scale. */
  worstError: number;
  /** The tolerance of the case and tensor with the largest error-to-tolerance ratio. */
  tolerance: number;
  /** Which case and tensor that was, e.g. 'layerNorm [2, 1023] affine: dx'. */
  worstCase: string;
  cases: number;
  seconds: number;
  /** An exception the family threw (a kernel that failed to compile, a lost device). */
  error?: string;
}

export interface SelfTestReport {
  passed: boolean;
  /** The adapter, as a user would quote it in an issue: backend, vendor, architecture, description. */
  adapter: string;
  families: SelfTestFamilyResult[];
  seconds: number;
}

export interface SelfTestOptions {
  /** Run only these families (default: all). */
  families?: readonly SelfTestFamily[];
  /** Called as each family finishes (the CLI prints progress with it). */
  onFamily?: (r: SelfTestFamilyResult) => void;
}

/** One comparison: a tensor of a case, its error and tolerance. */
interface Check {
  what: string;
  error: number;
  tol: number;
}

type Where = 'device' | 'reference';

interface Input {
  data: Float64Array | Int32Array;
  shape: number[];
  grad?: boolean;
}

/** Seeded uniform numbers in [-scale, scale). */
function uniform(seed: number, n: number, scale = 1): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => (r.next() * 2 - 1) * scale);
}

function f(seed: number, shape: number[], opts: { scale?: number; grad?: boolean; positive?: boolean } = {}): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  let data = uniform(seed, n, opts.scale ?? 1);
  if (opts.positive) data = data.map((x) => Math.abs(x) + 0.5);
  return { data, shape, grad: opts.grad ?? true };
}

function ints(values: number[], shape: number[]): Input {
  return { data: Int32Array.from(values), shape, grad: false };
}

function make(x: Input, where: Where): Tensor {
  if (x.data instanceof Int32Array) return tensor(x.data, x.shape, { backend: where === 'device' ? 'default' : 'cpu' });
  if (where === 'reference') return tensor(Float64Array.from(x.data), x.shape, { backend: 'cpu', dtype: 'float64', requiresGrad: !!x.grad });
  return tensor(Float32Array.from(x.data), x.shape, { requiresGrad: !!x.grad });
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let e = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    e = Number.isNaN(d) ? Infinity : Math.max(e, d);
    m = Math.max(m, Math.abs(b[i]));
  }
  return e / Math.max(m, 1e-6);
}

async function values(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data());
}

/**
 * Runs `fn` on device and reference inputs, backpropagates the same upstream gradient (when an
 * input wants one) and compares the output (tolerance tol) and every input gradient (gradTol).
 */
async function compare(name: string, inputs: Input[], fn: (...xs: Tensor[]) => Tensor, tol: number, gradTol = tol): Promise<Check[]> {
  const run = (where: Where) =>
    scope(async () => {
      const xs = inputs.map((x) => make(x, where));
      const y = fn(...xs);
      const out = await values(y);
      const grads: (Float64Array | null)[] = [];
      if (inputs.some((x) => x.grad)) {
        if (y.shape.length === 0) y.backward();
        else y.backward(make({ data: uniform(991, y.size), shape: [...y.shape] }, where));
        for (const x of xs) grads.push(x.requiresGrad && x.grad ? await values(x.grad) : null);
      }
      for (const x of xs) x.grad?.dispose();
      return { out, grads };
    });
  const dev = await run('device');
  const ref = await run('reference');
  const checks: Check[] = [{ what: `${name}: output`, error: relErr(dev.out, ref.out), tol }];
  ref.grads.forEach((g, i) => {
    if (g) checks.push({ what: `${name}: grad of input ${i}`, error: dev.grads[i] ? relErr(dev.grads[i]!, g) : Infinity, tol: gradTol });
  });
  return checks;
}

// ---- the families ---------------------------------------------------------------------------------
// Shapes: odd sizes (7, 13, 1023, ...), vec4-friendly ones (multiples of 4), and row kernels over
// 70,001 rows (one workgroup per short row: a grid past 65,535 in one dimension, folded in 2-D).

const BIG_ROWS = 70_001;
/** One invocation per element in workgroups of 256: 65,539 workgroups. */
const BIG_ELEMENTS = 65_539 * 256 - 255;

/**
 * x·1.5 + 0.25 over BIG_ELEMENTS (one fused kernel, one invocation per element: a grid folded past
 * 65,535 workgroups). At this size the reference is computed in a plain float64 loop: the CPU
 * backend's generic kernels would take seconds.
 */
async function bigElementwise(): Promise<Check> {
  const n = BIG_ELEMENTS;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 7919) % 1021) / 512 - 1;
  const got = await scope(async () => fuse((t) => t.mul(1.5).add(0.25))(tensor(x, [n])).data());
  let e = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(got[i] - (x[i] * 1.5 + 0.25));
    e = Number.isNaN(d) ? Infinity : Math.max(e, d);
  }
  return { what: `x·1.5 + 0.25 over ${n} elements (65,539 workgroups): output`, error: e / 1.75, tol: 1e-6 };
}

/** sum over BIG_ELEMENTS values in [1, 3): the reduction's grid past 65,535 workgroups (float64 loop as reference). */
async function bigSum(): Promise<Check> {
  const n = BIG_ELEMENTS;
  const x = new Float32Array(n);
  let ref = 0;
  for (let i = 0; i < n; i++) ref += x[i] = 1 + ((i * 7919) % 1021) / 511;
  const got = await scope(async () => (await tensor(x, [n]).sum().data())[0]);
  const e = Math.abs(got - ref);
  return { what: `sum over ${n} elements: output`, error: Number.isNaN(e) ? Infinity : e / Math.abs(ref), tol: 1e-5 };
}

const FAMILIES: Record<SelfTestFamily, () => Promise<Check[]>> = {
  async elementwise() {
    const gelu = (x: Tensor) => x.gelu();
    return [
      ...(await compare('add [7, 13]', [f(1, [7, 13]), f(2, [7, 13])], (a, b) => a.add(b), 1e-6)),
      ...(await compare('mul broadcast [5, 1, 7] × [3, 7]', [f(3, [5, 1, 7]), f(4, [3, 7])], (a, b) => a.mul(b), 1e-6)),
      ...(await compare('div, pow, maximum [6, 9]', [f(5, [6, 9]), f(6, [6, 9], { positive: true })], (a, b) => a.div(b).add(b.pow(1.5)).maximum(a), 1e-5)),
      ...(await compare('gelu vec4 [64, 256]', [f(7, [64, 256], { scale: 3 })], gelu, 1e-5)),
      ...(await compare('exp, tanh, sigmoid vec4 [16, 1024]', [f(8, [16, 1024], { scale: 2 })], (x) => x.exp().add(x.tanh()).mul(x.sigmoid()), 1e-5)),
      ...(await compare(`broadcast add vec4 [33, 1024] + [1024]`, [f(9, [33, 1024]), f(10, [1024])], (a, b) => a.add(b).relu(), 1e-6)),
      await bigElementwise(),
    ];
  },

  async reduction() {
    const x = f(21, [7, 13, 5], { scale: 2 });
    return [
      ...(await compare('sum all [7, 13, 5]', [x], (t) => t.sum(), 1e-5)),
      ...(await compare('sum axis 0, mean axis 2', [x], (t) => sum(t, 0).add(mean(t, 2, false).sum(1).reshape([1, 7]).transpose(0, 1).mean().reshape([1, 1])), 1e-5)),
      ...(await compare('max, min axis 1', [x], (t) => max(t, 1).add(min(t, 1)), 1e-6)),
      ...(await compare('logsumexp rows [9, 4099]', [f(22, [9, 4099], { scale: 30 })], (t) => logsumexp(t, -1), 1e-5)),
      ...(await compare('sum rows vec4 [5, 4096]', [f(23, [5, 4096])], (t) => sum(t, -1, true), 1e-5)),
      ...(await compare(`sum rows [${BIG_ROWS}, 3]`, [f(24, [BIG_ROWS, 3])], (t) => sum(t, 1), 1e-5)),
      ...(await compare('argmax [11, 37] (as float)', [f(25, [11, 37], { grad: false })], (t) => argmax(t, 1).toFloat(), 0)),
      await bigSum(),
    ];
  },

  async softmax() {
    return [
      ...(await compare('softmax [7, 13]', [f(31, [7, 13], { scale: 3 })], (t) => softmax(t, -1), 1e-5)),
      ...(await compare('logSoftmax vec4 [6, 1024], logits ±40', [f(32, [6, 1024], { scale: 40 })], (t) => logSoftmax(t, -1), 1e-5)),
      ...(await compare('softmax axis 0 [9, 5]', [f(33, [9, 5])], (t) => softmax(t, 0), 1e-5)),
      ...(await compare(`softmax [${BIG_ROWS}, 9]`, [f(34, [BIG_ROWS, 9], { scale: 4 })], (t) => softmax(t, -1), 1e-5)),
      ...(await compare('crossEntropy [10, 7]', [f(35, [10, 7], { scale: 3 }), ints([0, 6, 3, 2, 5, 1, 4, 4, 0, 6], [10])], (a, b) => crossEntropy(a, b), 1e-5)),
    ];
  },

  async layerNorm() {
    const ln = (x: Tensor, g: Tensor, b: Tensor) => layerNorm(x, g, b);
    return [
      ...(await compare('layerNorm [2, 1023] affine', [f(41, [2, 1023], { scale: 2 }), f(42, [1023]), f(43, [1023])], ln, 1e-4)),
      ...(await compare('layerNorm vec4 [2, 1024] affine', [f(44, [2, 1024], { scale: 2 }), f(45, [1024]), f(46, [1024])], ln, 1e-4)),
      ...(await compare('layerNorm [33, 77] affine', [f(47, [33, 77]), f(48, [77]), f(49, [77])], ln, 1e-4)),
      ...(await compare('layerNorm [3, 4096] no affine', [f(50, [3, 4096], { scale: 5 })], (x) => layerNorm(x), 1e-4)),
      ...(await compare(`layerNorm [${BIG_ROWS}, 12] affine`, [f(51, [BIG_ROWS, 12]), f(52, [12]), f(53, [12])], ln, 1e-4)),
    ];
  },

  async matmul() {
    return [
      ...(await compare('matmul [33, 65] × [65, 17]', [f(61, [33, 65]), f(62, [65, 17])], (a, b) => matmul(a, b), 1e-5)),
      ...(await compare('matmul [128, 256] × [256, 96]', [f(63, [128, 256]), f(64, [256, 96])], (a, b) => matmul(a, b), 1e-5)),
      ...(await compare('batched [3, 31, 40] × [3, 40, 9]', [f(65, [3, 31, 40]), f(66, [3, 40, 9])], (a, b) => matmul(a, b), 1e-5)),
      ...(await compare('broadcast batch [2, 1, 7, 12] × [3, 12, 5]', [f(67, [2, 1, 7, 12]), f(68, [3, 12, 5])], (a, b) => matmul(a, b), 1e-5)),
      ...(await compare('transposed operands [37, 20]ᵀ × [19, 37]ᵀ', [f(69, [37, 20]), f(70, [19, 37])], (a, b) => matmul(transpose(a), transpose(b)), 1e-5)),
      ...(await compare('linear + bias + gelu [9, 64] × [48, 64]ᵀ', [f(71, [9, 64]), f(72, [48, 64]), f(73, [48])], (x, w, b) => linear(x, w, b, 'gelu'), 1e-5)),
    ];
  },

  async indexing() {
    return [
      ...(await compare('indexSelect rows (repeated) [9, 13]', [f(81, [9, 13]), ints([8, 0, 3, 3, 7, 0, 1], [7])], (x, i) => indexSelect(x, 0, i), 1e-6)),
      ...(await compare('indexSelect axis 1 [4, 10, 6]', [f(82, [4, 10, 6]), ints([9, 2, 2, 5], [4])], (x, i) => indexSelect(x, 1, i), 1e-6)),
      ...(await compare('oneHot · x', [f(83, [6, 5]), ints([4, 0, 2, 2, 1, 3], [6])], (x, i) => oneHot(i, 5).mul(x), 1e-6)),
    ];
  },

  async random() {
    const checks: Check[] = [];
    for (const [name, make] of [
      ['rand [1031]', (b: 'default' | 'cpu') => rand([1031], { backend: b, ...(b === 'cpu' ? { dtype: 'float64' as const } : {}) })],
      ['randn [4099]', (b: 'default' | 'cpu') => randn([4099], { backend: b, ...(b === 'cpu' ? { dtype: 'float64' as const } : {}) })],
      ['dropout 0.3 [37, 41]', (b: 'default' | 'cpu') => dropout(b === 'cpu' ? tensor(Float64Array.from(uniform(91, 37 * 41)), [37, 41], { backend: 'cpu', dtype: 'float64' }) : tensor(Float32Array.from(uniform(91, 37 * 41)), [37, 41]), 0.3)],
    ] as const) {
      const draw = (b: 'default' | 'cpu') =>
        scope(async () => {
          manualSeed(1234);
          return values(make(b));
        });
      const dev = await draw('default');
      const ref = await draw('cpu');
      checks.push({ what: `${name}: same stream as the reference`, error: relErr(dev, ref), tol: 1e-5 });
    }
    return checks;
  },

  async gram() {
    const vol = (a: Tensor, o: Tensor) => gramVolumeMatrix(a, o);
    const loss = (a: Tensor, o: Tensor) => gramContrastiveLoss(a, o);
    return [
      ...(await compare('gramVolumeMatrix B 5, K 3, D 33', [f(101, [5, 33]), f(102, [5, 2, 33])], vol, 1e-4, 1e-3)),
      ...(await compare('gramContrastiveLoss B 6, K 4, D 64', [f(103, [6, 64]), f(104, [6, 3, 64])], loss, 1e-4, 1e-3)),
      ...(await compare('gramContrastiveLoss B 2, K 3, D 100003', [f(105, [2, 100003]), f(106, [2, 2, 100003])], loss, 1e-4, 1e-3)),
    ];
  },

  async attention() {
    const mask = (B: number, Tk: number) => ints(Array.from({ length: B * Tk }, (_, n) => ((Math.floor(n / Tk) * 7 + (n % Tk) * 3) % 5 !== 0 ? 1 : 0)), [B, Tk]);
    const att = (heads: number) => (q: Tensor, k: Tensor, v: Tensor, m: Tensor) => crossAttention(q, k, v, { heads, keyMask: m });
    return [
      ...(await compare('crossAttention B 2, Tq 7, Tk 13, D 32, 2 heads, mask', [f(111, [2, 7, 32]), f(112, [2, 13, 32]), f(113, [2, 13, 32]), mask(2, 13)], att(2), 1e-4, 1e-3)),
      ...(await compare('crossAttention B 1, Tq 33, Tk 70, D 64, 4 heads, mask', [f(114, [1, 33, 64]), f(115, [1, 70, 64]), f(116, [1, 70, 64]), mask(1, 70)], att(4), 1e-4, 1e-3)),
      // rows past 65,535 loop steps (a driver loop limit, docs/ENGINE.md "Driver bugs")
      ...(await compare('crossAttention B 1, Tq 4, Tk 8192, D 64, 2 heads, mask', [f(117, [1, 4, 64]), f(118, [1, 8192, 64]), f(119, [1, 8192, 64]), mask(1, 8192)], att(2), 1e-4, 1e-3)),
    ];
  },

  async optimizer() {
    const steps = (where: Where) =>
      scope(async () => {
        const p = [make(f(121, [37, 5]), where), make(f(122, [1029]), where)];
        const opt = new AdamW(p, { lr: 0.01, weightDecay: 0.1 });
        for (let s = 0; s < 3; s++) {
          p.forEach((t, i) => {
            t.grad?.dispose();
            t.grad = make({ data: uniform(130 + 10 * s + i, t.size), shape: [...t.shape] }, where);
          });
          opt.step();
        }
        const out = [await values(p[0]), await values(p[1])];
        opt.dispose();
        for (const t of p) t.grad?.dispose();
        return out;
      });
    const dev = await steps('device');
    const ref = await steps('reference');
    return dev.map((d, i) => ({ what: `AdamW 3 steps: parameter ${i}`, error: relErr(d, ref[i]), tol: 1e-5 }));
  },

  async fuse() {
    const chain = fuse((x, a, b) => x.mul(a).add(b).gelu());
    const two = fuse((x, y) => x.sub(y).tanh().mul(x));
    return [
      ...(await compare('fuse gelu(x·a+b) [7, 13] with [13]', [f(141, [7, 13], { scale: 2 }), f(142, [13]), f(143, [7, 13])], chain, 1e-5)),
      ...(await compare('fuse tanh(x−y)·x vec4 [32, 512]', [f(144, [32, 512]), f(145, [32, 512])], two, 1e-5)),
    ];
  },
};

/** The adapter in the form a bug report needs: backend, feature level, vendor, architecture, description. */
export function selfTestAdapter(): string {
  const i = deviceInfo();
  return `${i.backend} (${i.featureLevel}) — ${[i.vendor, i.architecture, i.description].filter(Boolean).join(' — ')}`;
}

/**
 * Checks every kernel family on the current device against the CPU float64 reference. Call init()
 * first. Resolves with the report (it does not throw for a failed family: `passed` says).
 */
export async function selfTest(opts: SelfTestOptions = {}): Promise<SelfTestReport> {
  if (!isInitialized()) throw new GpuError('selfTest: call `await init()` first');
  const t0 = performance.now();
  const wanted = opts.families ?? SELF_TEST_FAMILIES;
  for (const name of wanted) if (!SELF_TEST_FAMILIES.includes(name)) throw new GpuError(`selfTest: unknown family '${name}' (families: ${SELF_TEST_FAMILIES.join(', ')})`);
  const families: SelfTestFamilyResult[] = [];
  for (const family of SELF_TEST_FAMILIES.filter((n) => wanted.includes(n))) {
    const t1 = performance.now();
    let result: SelfTestFamilyResult;
    try {
      const checks = await FAMILIES[family]();
      // the check closest to (or furthest past) its tolerance
      const worst = checks.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
      result = {
        family,
        passed: checks.every((c) => c.error <= c.tol),
        worstError: Math.max(...checks.map((c) => c.error)),
        tolerance: worst.tol,
        worstCase: worst.what,
        cases: checks.length,
        seconds: (performance.now() - t1) / 1000,
      };
    } catch (e) {
      result = { family, passed: false, worstError: Infinity, tolerance: 0, worstCase: '', cases: 0, seconds: (performance.now() - t1) / 1000, error: (e as Error).message };
      await gpuRuntime()?.sync().catch(() => undefined); // leave no pending error for the next family
    }
    families.push(result);
    opts.onFamily?.(result);
  }
  return { passed: families.every((r) => r.passed), adapter: selfTestAdapter(), families, seconds: (performance.now() - t0) / 1000 };
}

function ratio(c: Check): number {
  return c.tol > 0 ? c.error / c.tol : c.error > 0 ? Infinity : 0;
}

/** The adapter, one line per family, then the verdict. */
export function formatSelfTest(r: SelfTestReport): string {
  return `${[`adapter: ${r.adapter}`, ...r.families.map(formatFamily), selfTestVerdict(r)].join('\n')}\n`;
}

/** Pass, or which families failed on which adapter and what to do about it. */
export function selfTestVerdict(r: SelfTestReport): string {
  if (r.passed) return `${r.families.length === 1 ? 'the kernel family matches' : `all ${r.families.length} kernel families match`} the float64 reference (${r.seconds.toFixed(1)} s)`;
  const failed = r.families.filter((f) => !f.passed).map((f) => f.family);
  return (
    `FAILED: ${failed.join(', ')} on ${r.adapter}. These kernels give wrong numbers on this adapter: please report this ` +
    `output (it names the adapter) in the project's issue tracker. Meanwhile another adapter ` +
    `(DUALALIGN_BACKEND=webgpu or webgpu-compat) or the CPU backend (init({ backend: 'cpu' }), --backend cpu) gives correct numbers.`
  );
}

export function formatFamily(f: SelfTestFamilyResult): string {
  const status = f.passed ? 'pass' : 'FAIL';
  const err = f.error ? `error: ${f.error}` : `worst error ${fmt(f.worstError)} (tolerance ${fmt(f.tolerance)}) in ${f.worstCase}`;
  return `${status}  ${f.family.padEnd(12)} ${err}  [${f.cases} checks, ${f.seconds.toFixed(1)} s]`;
}

function fmt(x: number): string {
  return x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(1) : String(x);
}
