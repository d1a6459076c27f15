/**
 * Optimizers: SGD (momentum, dampening, Nesterov, weight decay), Adam (L2) and AdamW (decoupled
 * decay), with PyTorch's update rules.
 *
 * WebGPU path: the optimizer keeps every parameter, gradient and state in flat buffers (one
 * segment per parameter tensor). A step records: a copy of each parameter and gradient into the
 * flat buffers, a small stats pass (gradient norm + non-finite count) and ONE fused update kernel
 * over all parameters (wgsl/optim.wgsl), then copies the parameters back. No host sync: the
 * guard and the clipping are decided on the device.
 *
 * CPU path (parameters on the CPU backend): the same math in TypeScript, in float64.
 *
 * Guard: a step whose loss (when passed: `step({ loss })`) or any gradient is non-finite leaves
 * parameters and state exactly as they were, does not advance the step counter, and is
 * reported by `await status()` (`applied: false`, `skippedSteps`).
 *
 * Parameters without a gradient at step time (unused, or frozen with requiresGrad = false) are
 * skipped entirely, as in PyTorch.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { TypedArray } from '../backend/backend.js';
import { gpuRuntime } from '../gpu/init.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import { OPTIM_CTRL, OPTIM_PARTIALS, runOptimStep, type OptimBuffers, type OptimHyper } from '../kernels/optim.js';

export type OptimizerKind = 'sgd' | 'adam' | 'adamw';

export interface StepStatus {
  /** Whether the last step changed the parameters (false: non-finite loss or gradients). */
  applied: boolean;
  /** Global L2 norm of the gradients at the last step (before clipping). */
  gradNorm: number;
  /** Steps applied so far (Adam's t). */
  step: number;
  /** Steps skipped by the non-finite guard so far. */
  skippedSteps: number;
}

export interface OptimizerState {
  kind: OptimizerKind;
  hyper: Record<string, number | boolean>;
  step: number;
  skippedSteps: number;
  /** 'momentum_buffer.i', 'exp_avg.i', 'exp_avg_sq.i' for parameter i (in constructor order). */
  state: Record<string, { data: Float32Array | Float64Array; shape: number[] }>;
}

export interface CommonOptions {
  lr?: number;
  weightDecay?: number;
  /** Fused gradient clipping: scale gradients so their global norm is at most this. */
  maxGradNorm?: number;
  /** Which parameters get weight decay (default: all, as PyTorch). */
  decay?: (p: Tensor, index: number) => boolean;
}

export interface SGDOptions extends CommonOptions {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
}

export interface AdamOptions extends CommonOptions {
  betas?: [number, number];
  eps?: number;
}

interface GpuFlat {
  rt: GpuRuntime;
  n: number;
  offsets: number[];
  bufs: OptimBuffers;
  active: boolean[];
  segInfo: Float32Array;
}

export abstract class Optimizer {
  readonly params: Tensor[];
  /** Current learning rate (schedulers write it). */
  lr: number;
  /** The learning rate given at construction (schedulers scale it). */
  readonly initialLr: number;
  readonly kind: OptimizerKind;
  protected hyper: OptimHyper;
  private readonly decayMask: boolean[];
  private gpu: GpuFlat | null = null;
  private cpuState: { s1: (Float64Array | null)[]; s2: (Float64Array | null)[] } | null = null;
  private cpuStatus: StepStatus = { applied: true, gradNorm: 0, step: 0, skippedSteps: 0 };
  private disposed = false;

  protected constructor(params: Iterable<Tensor>, kind: OptimizerKind, hyper: Omit<OptimHyper, 'kind' | 'checkLoss'>, decay?: (p: Tensor, i: number) => boolean) {
    this.params = [...new Set(params)];
    if (this.params.length === 0) throw new Error(`${this.constructor.name}: no parameters to optimize`);
    for (const p of this.params) {
      p.assertLive('optimize');
      if (p.dtype === 'int32') throw new Error(`${this.constructor.name}: parameter ${p.describe()} is int32`);
    }
    const backend = this.params[0].backend;
    for (const p of this.params) {
      if (p.backend !== backend) throw new Error(`${this.constructor.name}: parameters on different backends (${backend.name} and ${p.backend.name})`);
    }
    if (!(hyper.lr >= 0)) throw new Error(`${this.constructor.name}: invalid learning rate ${hyper.lr}`);
    this.kind = kind;
    this.lr = hyper.lr;
    this.initialLr = hyper.lr;
    this.hyper = { ...hyper, kind, checkLoss: false };
    this.decayMask = this.params.map((p, i) => (decay ? decay(p, i) : true));
    if (backend.name === 'webgpu') this.initGpu();
    else this.cpuState = { s1: this.params.map(() => null), s2: this.params.map(() => null) };
  }

  private needsS1(): boolean {
    return this.kind !== 'sgd' || this.hyper.momentum !== 0;
  }
  private needsS2(): boolean {
    return this.kind !== 'sgd';
  }

  private initGpu(): void {
    const rt = gpuRuntime();
    if (!rt) throw new Error('optimizer: WebGPU parameters but no GPU runtime');
    const offsets: number[] = [];
    let n = 0;
    for (const p of this.params) {
      offsets.push(n);
      n += p.size;
    }
    offsets.push(n);
    if (n * 4 > rt.maxBindingBytes) {
      throw new Error(`optimizer: ${n} parameters (${n * 4} bytes) exceed the adapter's storage binding limit of ${rt.maxBindingBytes} bytes`);
    }
    const zeros = (count: number) => rt.upload(new Float32Array(Math.max(count, 1)), 'optimizer state');
    const segInfo = new Float32Array(this.params.length * 2);
    this.params.forEach((_, i) => {
      segInfo[2 * i] = 0;
      segInfo[2 * i + 1] = this.decayMask[i] ? 1 : 0;
    });
    this.gpu = {
      rt,
      n,
      offsets,
      active: this.params.map(() => false),
      segInfo,
      bufs: {
        P: zeros(n),
        G: zeros(n),
        S1: zeros(this.needsS1() ? n : 1),
        S2: zeros(this.needsS2() ? n : 1),
        SEG: rt.upload(Uint32Array.from(offsets), 'optimizer segments'),
        SEGINFO: rt.upload(segInfo, 'optimizer segment info'),
        STATS: zeros(2 * OPTIM_PARTIALS + OPTIM_CTRL),
      },
    };
  }

  /** Hyper-parameters as plain values (for checkpoints and logs). */
  get hyperParameters(): Record<string, number | boolean> {
    const h = this.hyper;
    const base: Record<string, number | boolean> = { lr: this.lr, weightDecay: h.weightDecay, maxGradNorm: h.maxNorm };
    if (this.kind === 'sgd') return { ...base, momentum: h.momentum, dampening: h.dampening, nesterov: h.nesterov };
    return { ...base, beta1: h.beta1, beta2: h.beta2, eps: h.eps };
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /**
   * Applies one update from the accumulated gradients. Pass the step's loss to include it in
   * the non-finite guard. Returns at once on the GPU (see status()).
   */
  step(opts: { loss?: Tensor } = {}): void {
    if (this.disposed) throw new Error(`${this.constructor.name}: step() after dispose()`);
    if (this.gpu) this.stepGpu(this.gpu, opts.loss);
    else this.stepCpu(opts.loss);
  }

  private isActive(p: Tensor): boolean {
    return !!p.grad && p.requiresGrad && !p.isDisposed;
  }

  private stepGpu(f: GpuFlat, loss?: Tensor): void {
    const { rt, bufs } = f;
    let changed = false;
    this.params.forEach((p, i) => {
      const a = this.isActive(p);
      if (a !== f.active[i]) {
        f.active[i] = a;
        f.segInfo[2 * i] = a ? 1 : 0;
        changed = true;
      }
    });
    if (changed) {
      // Earlier recorded steps read SEGINFO: submit them before overwriting it.
      rt.flush();
      rt.device.queue.writeBuffer(bufs.SEGINFO, 0, f.segInfo.buffer, f.segInfo.byteOffset, f.segInfo.byteLength);
    }
    this.params.forEach((p, i) => {
      if (!f.active[i]) return;
      const g = p.grad!;
      if (g.backend.name !== 'webgpu') throw new Error(`optimizer: gradient of ${p.describe()} is not on the GPU`);
      checkDense(p);
      checkDense(g);
      const bytes = p.size * 4;
      if (bytes === 0) return;
      rt.copy(p.storage.handle as GPUBuffer, p.offset * 4, bufs.P, f.offsets[i] * 4, bytes);
      rt.copy(g.storage.handle as GPUBuffer, g.offset * 4, bufs.G, f.offsets[i] * 4, bytes);
    });
    const hyper = { ...this.hyper, lr: this.lr, checkLoss: !!loss };
    if (loss) {
      if (loss.size !== 1) throw new Error(`optimizer.step: loss must be a scalar, got ${loss.describe()}`);
      rt.copy(loss.storage.handle as GPUBuffer, loss.offset * 4, bufs.STATS, (2 * OPTIM_PARTIALS + 4) * 4, 4);
    }
    runOptimStep(rt, bufs, f.n, this.params.length, hyper);
    this.params.forEach((p, i) => {
      if (!f.active[i] || p.size === 0) return;
      rt.copy(bufs.P, f.offsets[i] * 4, p.storage.handle as GPUBuffer, p.offset * 4, p.size * 4);
    });
  }

  private stepCpu(loss?: Tensor): void {
    const st = this.cpuState!;
    const h = this.hyper;
    const active = this.params.map((p) => this.isActive(p));
    let sq = 0;
    let bad = false;
    if (loss) {
      const v = (loss.storage.handle as TypedArray)[loss.offset];
      if (!Number.isFinite(v)) bad = true;
    }
    const grads: TypedArray[] = [];
    this.params.forEach((p, i) => {
      if (!active[i]) return;
      const g = p.grad!;
      checkDense(g);
      const arr = g.storage.handle as TypedArray;
      for (let k = 0; k < p.size; k++) {
        const v = arr[g.offset + k];
        if (!Number.isFinite(v)) bad = true;
        else sq += v * v;
      }
      grads[i] = arr;
    });
    const norm = Math.sqrt(sq);
    if (!Number.isFinite(sq)) bad = true;
    this.cpuStatus.gradNorm = norm;
    if (bad) {
      this.cpuStatus.applied = false;
      this.cpuStatus.skippedSteps++;
      return;
    }
    const t = ++this.cpuStatus.step;
    this.cpuStatus.applied = true;
    const clip = Number.isFinite(h.maxNorm) && h.maxNorm > 0;
    const coef = clip ? Math.min(1, h.maxNorm / (norm + 1e-6)) : 1;
    const lr = this.lr;
    this.params.forEach((p, i) => {
      if (!active[i]) return;
      checkDense(p);
      const P = p.storage.handle as TypedArray;
      const G = grads[i];
      const go = p.grad!.offset;
      const wd = this.decayMask[i] ? h.weightDecay : 0;
      const n = p.size;
      if (this.needsS1() && !st.s1[i]) st.s1[i] = new Float64Array(n);
      if (this.needsS2() && !st.s2[i]) st.s2[i] = new Float64Array(n);
      const s1 = st.s1[i];
      const s2 = st.s2[i];
      const bc1 = 1 - Math.pow(h.beta1, t);
      const bc2 = 1 - Math.pow(h.beta2, t);
      for (let k = 0; k < n; k++) {
        let g = G[go + k] * coef;
        let w = P[p.offset + k];
        if (this.kind === 'sgd') {
          if (wd !== 0) g += wd * w;
          if (h.momentum !== 0) {
            const buf = t > 1 ? h.momentum * s1![k] + (1 - h.dampening) * g : g;
            s1![k] = buf;
            g = h.nesterov ? g + h.momentum * buf : buf;
          }
          w -= lr * g;
        } else {
          if (this.kind === 'adamw') w *= 1 - lr * wd;
          else if (wd !== 0) g += wd * w;
          const m = h.beta1 * s1![k] + (1 - h.beta1) * g;
          const v = h.beta2 * s2![k] + (1 - h.beta2) * g * g;
          s1![k] = m;
          s2![k] = v;
          const denom = Math.sqrt(v) / Math.sqrt(bc2) + h.eps;
          w -= (lr / bc1) * (m / denom);
        }
        P[p.offset + k] = w;
      }
    });
  }

  /** The outcome of the last step (reads 8 floats back on the GPU). */
  async status(): Promise<StepStatus> {
    if (!this.gpu) return { ...this.cpuStatus };
    const { rt, bufs } = this.gpu;
    const c = 2 * OPTIM_PARTIALS;
    const bytes = await rt.read(bufs.STATS, OPTIM_CTRL * 4, c * 4);
    const f = new Float32Array(bytes);
    const u = new Uint32Array(bytes);
    const applied = f[1] > 0.5;
    return { applied, gradNorm: f[2], step: u[0] + (applied ? 1 : 0), skippedSteps: f[3] };
  }

  /** State (step count and per-parameter buffers) as host arrays; async because it reads the GPU. */
  async stateDict(): Promise<OptimizerState> {
    const status = await this.status();
    const state: OptimizerState['state'] = {};
    const names: [string, 1 | 2][] = [];
    if (this.needsS1()) names.push([this.kind === 'sgd' ? 'momentum_buffer' : 'exp_avg', 1]);
    if (this.needsS2()) names.push(['exp_avg_sq', 2]);
    if (this.gpu) {
      const { rt, bufs, offsets } = this.gpu;
      for (const [name, which] of names) {
        const all = new Float32Array(await rt.read(which === 1 ? bufs.S1 : bufs.S2, this.gpu.n * 4));
        this.params.forEach((p, i) => {
          state[`${name}.${i}`] = { data: all.slice(offsets[i], offsets[i + 1]), shape: [...p.shape] };
        });
      }
    } else {
      const st = this.cpuState!;
      for (const [name, which] of names) {
        this.params.forEach((p, i) => {
          const arr = (which === 1 ? st.s1 : st.s2)[i];
          state[`${name}.${i}`] = { data: arr ? Float64Array.from(arr) : new Float64Array(p.size), shape: [...p.shape] };
        });
      }
    }
    return { kind: this.kind, hyper: this.hyperParameters, step: status.step, skippedSteps: status.skippedSteps, state };
  }

  /** Restores a stateDict() (same kind, same parameter shapes in the same order). lr is taken from it. */
  async loadStateDict(sd: OptimizerState): Promise<void> {
    if (sd.kind !== this.kind) throw new Error(`${this.constructor.name}.loadStateDict: state is for '${sd.kind}', this optimizer is '${this.kind}'`);
    const names: [string, 1 | 2][] = [];
    if (this.needsS1()) names.push([this.kind === 'sgd' ? 'momentum_buffer' : 'exp_avg', 1]);
    if (this.needsS2()) names.push(['exp_avg_sq', 2]);
    const problems: string[] = [];
    for (const [name] of names) {
      this.params.forEach((p, i) => {
        const e = sd.state[`${name}.${i}`];
        if (!e) problems.push(`missing ${name}.${i}`);
        else if (e.data.length !== p.size) problems.push(`${name}.${i}: ${e.data.length} values for ${p.describe()}`);
      });
    }
    if (problems.length) throw new Error(`${this.constructor.name}.loadStateDict: state does not match the parameters:\n  ${problems.join('\n  ')}`);
    if (typeof sd.hyper.lr === 'number') this.lr = sd.hyper.lr;
    if (this.gpu) {
      const { rt, bufs, offsets, n } = this.gpu;
      rt.flush();
      for (const [name, which] of names) {
        const all = new Float32Array(n);
        this.params.forEach((_, i) => all.set(sd.state[`${name}.${i}`].data, offsets[i]));
        rt.device.queue.writeBuffer(which === 1 ? bufs.S1 : bufs.S2, 0, all.buffer, 0, all.byteLength);
      }
      const ctrl = new ArrayBuffer(OPTIM_CTRL * 4);
      new Uint32Array(ctrl)[0] = sd.step >>> 0;
      new Float32Array(ctrl)[3] = sd.skippedSteps;
      rt.device.queue.writeBuffer(bufs.STATS, 2 * OPTIM_PARTIALS * 4, ctrl, 0, ctrl.byteLength);
    } else {
      const st = this.cpuState!;
      for (const [name, which] of names) {
        this.params.forEach((_, i) => {
          (which === 1 ? st.s1 : st.s2)[i] = Float64Array.from(sd.state[`${name}.${i}`].data);
        });
      }
      this.cpuStatus = { applied: true, gradNorm: 0, step: sd.step, skippedSteps: sd.skippedSteps };
    }
  }

  /** Frees the flat GPU buffers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.gpu) for (const b of Object.values(this.gpu.bufs)) this.gpu.rt.free(b);
    this.gpu = null;
  }
}

function checkDense(t: Tensor): void {
  let acc = 1;
  for (let i = t.rank - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.strides[i] !== acc) throw new Error(`optimizer: ${t.describe()} is not dense`);
    acc *= t.shape[i];
  }
}

/** Stochastic gradient descent with momentum (PyTorch's torch.optim.SGD). */
export class SGD extends Optimizer {
  constructor(params: Iterable<Tensor>, opts: SGDOptions = {}) {
    const momentum = opts.momentum ?? 0;
    const dampening = opts.dampening ?? 0;
    if (opts.nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
    super(
      params,
      'sgd',
      {
        lr: opts.lr ?? 1e-2,
        momentum,
        dampening,
        nesterov: !!opts.nesterov,
        weightDecay: opts.weightDecay ?? 0,
        beta1: 0,
        beta2: 0,
        eps: 0,
        maxNorm: opts.maxGradNorm ?? 0,
      },
      opts.decay,
    );
  }
}

/** Adam with coupled L2 weight decay (torch.optim.Adam). */
export class Adam extends Optimizer {
  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}, kind: 'adam' | 'adamw' = 'adam') {
    const [beta1, beta2] = opts.betas ?? [0.9, 0.999];
    super(
      params,
      kind,
      {
        lr: opts.lr ?? 1e-3,
        momentum: 0,
        dampening: 0,
        nesterov: false,
        weightDecay: opts.weightDecay ?? (kind === 'adamw' ? 1e-2 : 0),
        beta1,
        beta2,
        eps: opts.eps ?? 1e-8,
        maxNorm: opts.maxGradNorm ?? 0,
      },
      opts.decay,
    );
  }
}

/** Adam with decoupled weight decay (torch.optim.AdamW; default weight decay 0.01). */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super(params, opts, 'adamw');
  }
}
