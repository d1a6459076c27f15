/**
 * Optimizers: SGD (momentum, dampening, Nesterov, weight decay), Adam (L2) and AdamW (decoupled
 * decay), with PyTorch's update rules.
 *
 * The step is a backend routine (src/backend/routines.ts, `optimizer`). WebGPU
 * (src/backend/webgpu/routines.ts) keeps every parameter, gradient and state in flat buffers (one
 * segment per parameter tensor). A step records: a copy of each parameter and gradient into the
 * flat buffers, a small stats pass (gradient norm + non-finite count) and ONE fused update kernel
 * over all parameters (wgsl/optim.wgsl), then copies the parameters back. No host sync: the
 * guard and the clipping are decided on the device.
 *
 * CPU (src/backend/cpu-routines.ts): the same math in TypeScript, in float64.
 *
 * Guard: a step whose loss (when passed: `step({ loss })`) or any gradient is non-finite leaves
 * parameters and state exactly as they were, does not advance the step counter, and is
 * reported by `await status()` (`applied: false`, `skippedSteps`).
 *
 * Parameters without a gradient at step time (unused, or frozen with requiresGrad = false) are
 * skipped entirely, as in PyTorch.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { OptimizerRoutine, StepStatus } from '../backend/routines.js';
import type { OptimHyper } from '../backend/webgpu/optim.js';

export type { StepStatus } from '../backend/routines.js';
export type OptimizerKind = 'sgd' | 'adam' | 'adamw';

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

export abstract class Optimizer {
  readonly params: Tensor[];
  /** Current learning rate (schedulers write it). */
  lr: number;
  /** The learning rate given at construction (schedulers scale it). */
  readonly initialLr: number;
  readonly kind: OptimizerKind;
  protected hyper: OptimHyper;
  private readonly decayMask: boolean[];
  /** The backend's fused optimizer over these parameters (state, step, guard). */
  private readonly engine: OptimizerRoutine;
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
    if (!backend.routines.optimizer) throw new Error(`${this.constructor.name}: the ${backend.name} backend has no optimizer routine`);
    this.engine = backend.routines.optimizer(this.params, this.hyper, this.decayMask);
  }

  private needsS1(): boolean {
    return this.kind !== 'sgd' || this.hyper.momentum !== 0;
  }
  private needsS2(): boolean {
    return this.kind !== 'sgd';
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
    const { loss } = opts;
    if (loss && loss.size !== 1) throw new Error(`optimizer.step: loss must be a scalar, got ${loss.describe()}`);
    const grads = this.params.map((p) => {
      if (!this.isActive(p)) return null;
      checkDense(p);
      checkDense(p.grad!);
      return p.grad!;
    });
    this.engine.step(this.params, grads, loss ?? null, { ...this.hyper, lr: this.lr, checkLoss: !!loss });
  }

  private isActive(p: Tensor): boolean {
    return !!p.grad && p.requiresGrad && !p.isDisposed;
  }

  /** The outcome of the last step (reads 8 floats back on the GPU). */
  async status(): Promise<StepStatus> {
    return this.engine.status();
  }

  /** State (step count and per-parameter buffers) as host arrays; async because it reads the GPU. */
  async stateDict(): Promise<OptimizerState> {
    const status = await this.status();
    const state: OptimizerState['state'] = {};
    const names: [string, 1 | 2][] = [];
    if (this.needsS1()) names.push([this.kind === 'sgd' ? 'momentum_buffer' : 'exp_avg', 1]);
    if (this.needsS2()) names.push(['exp_avg_sq', 2]);
    for (const [name, which] of names) {
      const perParam = await this.engine.readState(which);
      this.params.forEach((p, i) => {
        state[`${name}.${i}`] = { data: perParam[i], shape: [...p.shape] };
      });
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
    for (const [name, which] of names) this.engine.writeState(which, this.params.map((_, i) => sd.state[`${name}.${i}`].data));
    this.engine.setCounters(sd.step, sd.skippedSteps);
  }

  /** Frees the optimizer's state (the flat GPU buffers). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.engine.dispose();
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
