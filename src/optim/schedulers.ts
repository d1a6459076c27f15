/**
 * Learning-rate schedules, stepped once per optimizer step (call `scheduler.step()` after
 * `optimizer.step()`, as in PyTorch). Each writes `optimizer.lr`.
 *
 *  - cosineAnnealing: lr_t = η_min + (η_0 − η_min)·(1 + cos(π·t / T_max)) / 2 (torch's
 *    CosineAnnealingLR closed form; stays at η_min after T_max).
 *  - linearWarmup: lr rises linearly from startFactor·η_0 to η_0 over `warmupSteps`, then hands
 *    over to `after` (e.g. a cosine over the remaining steps) or stays at η_0.
 *  - constantLr.
 */
import type { Optimizer } from './optimizer.js';

export interface LrScheduler {
  /** Advances one step and writes the new learning rate into the optimizer. */
  step(): void;
  /** The learning rate for the current step. */
  readonly lr: number;
  /** Steps taken. */
  readonly stepCount: number;
  stateDict(): { stepCount: number };
  loadStateDict(sd: { stepCount: number }): void;
}

abstract class BaseScheduler implements LrScheduler {
  stepCount = 0;
  constructor(
    readonly optimizer: Optimizer,
    readonly baseLr: number,
  ) {}
  /** lr after `t` steps. */
  abstract lrAt(t: number): number;
  get lr(): number {
    return this.lrAt(this.stepCount);
  }
  step(): void {
    this.stepCount++;
    this.optimizer.lr = this.lrAt(this.stepCount);
  }
  /** Sets the optimizer's lr to the current step's value (after loadStateDict or at start). */
  apply(): this {
    this.optimizer.lr = this.lrAt(this.stepCount);
    return this;
  }
  stateDict() {
    return { stepCount: this.stepCount };
  }
  loadStateDict(sd: { stepCount: number }): void {
    this.stepCount = sd.stepCount;
    this.apply();
  }
}

export class CosineAnnealing extends BaseScheduler {
  constructor(
    optimizer: Optimizer,
    readonly tMax: number,
    readonly etaMin = 0,
    baseLr = optimizer.initialLr,
  ) {
    super(optimizer, baseLr);
    if (!(tMax > 0)) throw new Error(`cosineAnnealing: tMax must be positive, got ${tMax}`);
  }
  lrAt(t: number): number {
    const tt = Math.min(t, this.tMax);
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * tt) / this.tMax))) / 2;
  }
}

export class LinearWarmup extends BaseScheduler {
  constructor(
    optimizer: Optimizer,
    readonly warmupSteps: number,
    readonly startFactor = 0,
    readonly after: BaseScheduler | null = null,
    baseLr = optimizer.initialLr,
  ) {
    super(optimizer, baseLr);
    if (!(warmupSteps >= 0)) throw new Error(`linearWarmup: warmupSteps must be ≥ 0, got ${warmupSteps}`);
  }
  lrAt(t: number): number {
    if (t < this.warmupSteps) return this.baseLr * (this.startFactor + ((1 - this.startFactor) * t) / this.warmupSteps);
    return this.after ? this.after.lrAt(t - this.warmupSteps) : this.baseLr;
  }
}

export class ConstantLr extends BaseScheduler {
  lrAt(): number {
    return this.baseLr;
  }
}

/** Cosine annealing from the optimizer's lr to etaMin over tMax steps. Sets the lr for step 0. */
export function cosineAnnealing(optimizer: Optimizer, opts: { tMax: number; etaMin?: number }): CosineAnnealing {
  return new CosineAnnealing(optimizer, opts.tMax, opts.etaMin ?? 0).apply();
}

/**
 * Linear warm-up over `warmupSteps` (from startFactor·lr, default 0 — the first step then
 * uses lr/warmupSteps·0; pass startFactor > 0 to avoid a zero step), then `then`:
 * { cosine: { tMax, etaMin } } anneals over the remaining steps, or constant.
 */
export function linearWarmup(
  optimizer: Optimizer,
  opts: { warmupSteps: number; startFactor?: number; then?: { cosine: { tMax: number; etaMin?: number } } },
): LinearWarmup {
  const after = opts.then ? new CosineAnnealing(optimizer, Math.max(1, opts.then.cosine.tMax), opts.then.cosine.etaMin ?? 0) : null;
  return new LinearWarmup(optimizer, opts.warmupSteps, opts.startFactor ?? 0, after).apply();
}

export function constantLr(optimizer: Optimizer): ConstantLr {
  return new ConstantLr(optimizer, optimizer.initialLr).apply();
}
