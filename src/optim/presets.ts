/**
 * Training presets.
 *
 *  - 'paper' (§5.1): SGD, lr 1e-2, cosine annealing over all steps, weight decay 1e-4
 *    (momentum 0.9: the paper does not give it; 0.9 is the usual SGD setting). The model
 *    settings the paper trains with (dropout 0.5, τ 0.1) are the DualAlign config's defaults
 *    (src/models/config.ts), so a preset carries only the optimizer and its schedule.
 *  - 'reference-code': Adam, lr 1e-4, 500-step linear warm-up then cosine over the rest
 *    (the authors' released training script).
 */
import type { Tensor } from '../autograd/tensor.js';
import { Adam, SGD, type Optimizer } from './optimizer.js';
import { cosineAnnealing, linearWarmup, type LrScheduler } from './schedulers.js';

export type PresetName = 'paper' | 'reference-code';

export interface PresetResult {
  optimizer: Optimizer;
  scheduler: LrScheduler;
  description: string;
}

export function optimizerPreset(
  name: PresetName,
  params: Iterable<Tensor>,
  opts: { epochs: number; stepsPerEpoch: number; lr?: number; maxGradNorm?: number },
): PresetResult {
  const total = Math.max(1, Math.round(opts.epochs * opts.stepsPerEpoch));
  if (name === 'paper') {
    const optimizer = new SGD(params, { lr: opts.lr ?? 1e-2, momentum: 0.9, weightDecay: 1e-4, maxGradNorm: opts.maxGradNorm });
    return {
      optimizer,
      scheduler: cosineAnnealing(optimizer, { tMax: total }),
      description: `SGD lr ${optimizer.initialLr} momentum 0.9 wd 1e-4, cosine over ${total} steps`,
    };
  }
  if (name === 'reference-code') {
    const optimizer = new Adam(params, { lr: opts.lr ?? 1e-4, maxGradNorm: opts.maxGradNorm });
    const warm = Math.min(500, total);
    return {
      optimizer,
      scheduler: linearWarmup(optimizer, { warmupSteps: warm, startFactor: 1 / Math.max(warm, 1), then: { cosine: { tMax: Math.max(1, total - warm) } } }),
      description: `Adam lr ${optimizer.initialLr}, ${warm}-step linear warm-up then cosine over ${Math.max(1, total - warm)} steps`,
    };
  }
  throw new Error(`optimizerPreset: unknown preset '${name}' (paper, reference-code)`);
}
