/**
 * Prototype heads (Eqs. 1–2).
 *
 * A simplex ETF of G unit vectors in R^D (D ≥ G): M = √(G/(G−1)) · U · (I − 11ᵀ/G), U [D, G]
 * with orthonormal columns (Gram–Schmidt of a seeded Gaussian). Its columns g_j have ‖g_j‖ = 1
 * and g_i·g_j = −1/(G−1): maximally separated, fixed (a persistent buffer, not trained).
 *
 * EtfHead: logits_j = s · (g_j · ĥ) with ĥ = h/‖h‖ (s = logitScale, 1 in the paper); the
 * grade is the nearest prototype (argmax of the logits = argmin ‖ĥ − g_j‖, Eq. 1) and
 * softmax(logits) are the per-grade probabilities; L_grade = CE(logits, grade) (Eq. 2).
 * At s = 1 the highest probability a unit-norm ETF can give is e/(e + (G−1)e^{−1/(G−1)}) (0.558
 * for G = 4), so L_grade never falls below 0.58 there and the alignment terms (GRAM logits reach
 * 1/τ = 10) dominate the gradient: the recipe sets s = 10.
 * Ordinal neighbour smoothing (ordinalSigma σ > 0): the target is a Gaussian over grades centred on
 * the true one, p_j ∝ exp(−(j − y)²/2σ²), so confusing neighbouring grades costs less than distant
 * ones (grades are ordered).
 *
 * CoarseToFineHead (continuous scores, after CoFInAl): the score range is cut into Kc coarse
 * intervals and each into Kf fine ones; two projections of h are matched to a coarse ETF (Kc)
 * and a fine ETF (Kf). Score = min + c·w_c + (f + ½)·w_c/Kf with c, f the nearest prototypes;
 * loss = CE(coarse) + CE(fine).
 */
import type { Tensor } from '../autograd/tensor.js';
import { tidy } from '../autograd/engine.js';
import * as E from '../autograd/ops/elementwise.js';
import { l2Normalize, logSoftmax } from '../autograd/ops/nn.js';
import { matmul } from '../autograd/ops/linalg.js';
import { crossEntropy } from '../autograd/ops/losses.js';
import { mean, sum } from '../autograd/ops/reduce.js';
import { oneHot, transpose } from '../autograd/ops/shape.js';
import { tensor } from '../autograd/ops/creation.js';
import { mulberry32 } from '../data/prng.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { fromValues } from '../nn/init.js';

/** G prototypes of a simplex ETF in R^D, row-major [G, D]. */
export function simplexEtf(G: number, D: number, seed = 0): Float64Array {
  if (!(G >= 2)) throw new Error(`simplexEtf: need at least 2 prototypes, got ${G}`);
  if (D < G) throw new Error(`simplexEtf: dimension ${D} < ${G} prototypes`);
  const rng = mulberry32((seed ^ 0x9e3779b9) >>> 0);
  // U: G orthonormal vectors in R^D (rows here), Gram–Schmidt twice for accuracy.
  const U: Float64Array[] = [];
  while (U.length < G) {
    const v = Float64Array.from({ length: D }, () => rng.normal());
    for (let pass = 0; pass < 2; pass++) {
      for (const u of U) {
        let d = 0;
        for (let k = 0; k < D; k++) d += u[k] * v[k];
        for (let k = 0; k < D; k++) v[k] -= d * u[k];
      }
    }
    let n = 0;
    for (let k = 0; k < D; k++) n += v[k] * v[k];
    n = Math.sqrt(n);
    if (n < 1e-8) continue;
    for (let k = 0; k < D; k++) v[k] /= n;
    U.push(v);
  }
  const scale = Math.sqrt(G / (G - 1));
  const out = new Float64Array(G * D);
  for (let j = 0; j < G; j++) {
    for (let k = 0; k < D; k++) {
      // column j of U (I − 11ᵀ/G): u_j − mean_i u_i
      let s = 0;
      for (let i = 0; i < G; i++) s += U[i][k];
      out[j * D + k] = scale * (U[j][k] - s / G);
    }
  }
  return out;
}

export class EtfHead extends Module {
  prototypes: Tensor;
  constructor(
    readonly numClasses: number,
    readonly dim: number,
    readonly logitScale = 1,
    seed = 0,
  ) {
    super();
    this.prototypes = this.registerBuffer('prototypes', fromValues(simplexEtf(numClasses, dim, seed), [numClasses, dim]));
  }
  /** h [B, D] -> logits [B, G]. */
  forward(h: Tensor): Tensor {
    return tidy(() => {
      const z = matmul(l2Normalize(h, -1), transpose(this.prototypes));
      return this.logitScale === 1 ? z : E.mul(z, this.logitScale);
    });
  }
  loss(logits: Tensor, target: Tensor, labelSmoothing = 0, ordinalSigma = 0): Tensor {
    if (!(ordinalSigma > 0)) return crossEntropy(logits, target, { labelSmoothing });
    return tidy(() => {
      // Soft targets: row y of the smoothing matrix, picked by a one-hot product (stays on the device).
      const G = this.numClasses;
      const S = tensor(ordinalTargets(G, ordinalSigma, labelSmoothing), [G, G], { backend: logits.backend, dtype: logits.dtype });
      const soft = matmul(oneHot(target, G, logits.dtype), S);
      return E.neg(mean(sum(E.mul(soft, logSoftmax(logits, -1)), -1)));
    });
  }
  flops(): number {
    return 3 * this.dim + 2 * this.numClasses * this.dim;
  }
}

/** [G, G] row-major: row y is the Gaussian over grades centred on y (width sigma), mixed with labelSmoothing/G uniform. */
export function ordinalTargets(G: number, sigma: number, labelSmoothing = 0): Float32Array {
  if (!(sigma > 0)) throw new Error(`ordinalTargets: sigma must be > 0, got ${sigma}`);
  const out = new Float32Array(G * G);
  for (let y = 0; y < G; y++) {
    let total = 0;
    for (let j = 0; j < G; j++) total += Math.exp(-((j - y) ** 2) / (2 * sigma * sigma));
    for (let j = 0; j < G; j++) out[y * G + j] = (1 - labelSmoothing) * (Math.exp(-((j - y) ** 2) / (2 * sigma * sigma)) / total) + labelSmoothing / G;
  }
  return out;
}

export interface CoarseFineOutput {
  coarse: Tensor;
  fine: Tensor;
}

export class CoarseToFineHead extends Module {
  readonly coarseProj: Linear;
  readonly fineProj: Linear;
  readonly coarse: EtfHead;
  readonly fine: EtfHead;
  constructor(
    readonly dim: number,
    readonly coarseBins: number,
    readonly fineBins: number,
    readonly range: [number, number],
    logitScale = 1,
    seed = 0,
  ) {
    super();
    this.coarseProj = this.registerModule('coarseProj', new Linear(dim, dim));
    this.fineProj = this.registerModule('fineProj', new Linear(dim, dim));
    this.coarse = this.registerModule('coarse', new EtfHead(coarseBins, dim, logitScale, seed + 1));
    this.fine = this.registerModule('fine', new EtfHead(fineBins, dim, logitScale, seed + 2));
  }
  forward(h: Tensor): CoarseFineOutput {
    return tidy(() => ({ coarse: this.coarse.forward(this.coarseProj.forward(h)), fine: this.fine.forward(this.fineProj.forward(h)) }));
  }
  /** Coarse and fine interval indices (int32 [B]) of float scores [B]. */
  targets(scores: Tensor): { coarse: Tensor; fine: Tensor } {
    const [lo, hi] = this.range;
    const Kc = this.coarseBins;
    const Kf = this.fineBins;
    return tidy(() => {
      const u = E.clamp(E.mul(E.sub(scores, lo), Kc / (hi - lo)), 0, Kc - 1e-4); // in [0, Kc)
      const c = E.cast(u, 'int32');
      const within = E.clamp(E.mul(E.sub(u, E.cast(c, scores.dtype)), Kf), 0, Kf - 1e-4);
      return { coarse: c, fine: E.cast(within, 'int32') };
    });
  }
  loss(out: CoarseFineOutput, scores: Tensor, labelSmoothing = 0): Tensor {
    return tidy(() => {
      const t = this.targets(scores);
      return E.add(crossEntropy(out.coarse, t.coarse, { labelSmoothing }), crossEntropy(out.fine, t.fine, { labelSmoothing }));
    });
  }
  /** Score of interval indices (host). */
  scoreOf(c: number, f: number): number {
    const [lo, hi] = this.range;
    const wc = (hi - lo) / this.coarseBins;
    return lo + c * wc + ((f + 0.5) * wc) / this.fineBins;
  }
  flops(): number {
    return this.coarseProj.flops([1, this.dim]) + this.fineProj.flops([1, this.dim]) + this.coarse.flops() + this.fine.flops();
  }
}
