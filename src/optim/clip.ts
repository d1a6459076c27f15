/** Gradient-norm clipping as a standalone step (torch.nn.utils.clip_grad_norm_). */
import type { Tensor } from '../autograd/tensor.js';
import { noGrad, tidy, keep } from '../autograd/engine.js';
import * as E from '../autograd/ops/elementwise.js';
import { sum } from '../autograd/ops/reduce.js';
import { concat, reshape } from '../autograd/ops/shape.js';

/**
 * Scales the gradients of `params` in place so that their global L2 norm is at most maxNorm
 * (coefficient maxNorm / (norm + 1e-6), capped at 1). Returns the norm before clipping as a
 * scalar tensor (no host sync; `await norm.item()` to read it). Parameters without a gradient
 * are ignored. For a fused version pass `maxGradNorm` to the optimizer instead.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): Tensor | null {
  const withGrad = [...params].filter((p) => p.grad);
  if (withGrad.length === 0) return null;
  return noGrad(() => {
    const norm = tidy(() => {
      const parts = withGrad.map((p) => reshape(sum(E.mul(p.grad!, p.grad!)), [1]));
      return E.sqrt(sum(concat(parts, 0)));
    });
    tidy(() => {
      const coef = E.minimum(E.div(maxNorm, E.add(norm, 1e-6)), 1);
      for (const p of withGrad) {
        const old = p.grad!;
        const scaled = keep(E.mul(old, coef));
        p.grad = scaled;
        old.dispose();
      }
    });
    return norm;
  });
}
