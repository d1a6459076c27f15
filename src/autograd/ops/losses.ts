/** Losses: crossEntropy (class indices or probabilities, label smoothing) and mseLoss. */
import { ShapeError } from '../../gpu/errors.js';
import type { Tensor } from '../tensor.js';
import * as E from './elementwise.js';
import { mean, sum } from './reduce.js';
import { oneHot } from './shape.js';
import { logSoftmax } from './nn.js';
import { tidy } from '../engine.js';
import { backendOf } from './util.js';

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(x: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? mean(x) : reduction === 'sum' ? sum(x) : E.mul(x, 1);
}

/**
 * Cross-entropy of logits [N, C] against int32 class indices [N] or target probabilities [N, C].
 * labelSmoothing ε mixes the target with the uniform distribution: (1-ε)·q + ε/C.
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: { labelSmoothing?: number; reduction?: Reduction } = {}): Tensor {
  const { labelSmoothing = 0, reduction = 'mean' } = opts;
  if (logits.rank !== 2) throw new ShapeError(`crossEntropy: logits must be [N, C], got ${logits.describe()}`);
  const [N, C] = logits.shape;
  if (target.dtype === 'int32') {
    if (target.rank !== 1 || target.shape[0] !== N) throw new ShapeError(`crossEntropy: class indices must be int32 [${N}], got ${target.describe()}`);
  } else if (target.rank !== 2 || target.shape[0] !== N || target.shape[1] !== C) {
    throw new ShapeError(`crossEntropy: target probabilities must be [${N}, ${C}], got ${target.describe()}`);
  }
  if (target.dtype === 'int32') {
    // PyTorch throws on a class index out of range; so do we (the GPU at the next readback).
    backendOf('crossEntropy', logits, target).checkIndices(target, C, `crossEntropy: a class index in target ${target.describe()} is outside [0, ${C})`);
  }
  if (labelSmoothing < 0 || labelSmoothing > 1) throw new ShapeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  return tidy(() => {
    const logp = logSoftmax(logits, -1);
    let q = target.dtype === 'int32' ? oneHot(target, C, logits.dtype) : target;
    if (labelSmoothing > 0) q = E.add(E.mul(q, 1 - labelSmoothing), labelSmoothing / C);
    const perSample = E.neg(sum(E.mul(q, logp), -1));
    return reduce(perSample, reduction);
  });
}

export function mseLoss(pred: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  if (pred.shape.length !== target.shape.length || pred.shape.some((d, i) => d !== target.shape[i])) {
    throw new ShapeError(`mseLoss: pred ${pred.describe()} and target ${target.describe()} differ in shape`);
  }
  return tidy(() => {
    const d = E.sub(pred, target);
    return reduce(E.mul(d, d), opts.reduction ?? 'mean');
  });
}
