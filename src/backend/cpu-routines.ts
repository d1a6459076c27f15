/**
 * The CPU backend's routines (src/backend/routines.ts): the float64 references of the fused ops,
 * which are also the tests' oracles: GRAM volumes and the contrastive loss
 * (src/alignment/reference.ts), cross-attention (src/attention/cpu.ts) and the optimizer step.
 * Outputs take the inputs' dtype (float64 in, float64 out).
 */
import { sizeOf, type Backend, type DType, type TypedArray, type View } from './backend.js';
import type { Fused, OptimizerRoutine, Routines, StepStatus } from './routines.js';
import type { OptimHyper } from './webgpu/optim.js';
import * as ref from '../alignment/reference.js';
import { attentionBackwardCpu, attentionForwardCpu } from '../attention/cpu.js';

/** A CPU view's values, row-major, as float64 (read through its strides). */
export function readContiguous(v: View): Float64Array {
  const src = v.storage.handle as TypedArray;
  const n = sizeOf(v.shape);
  const out = new Float64Array(n);
  const rank = v.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let off = v.offset;
  for (let e = 0; e < n; e++) {
    out[e] = src[off];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      off += v.strides[d];
      if (idx[d] < v.shape[d]) break;
      off -= v.strides[d] * v.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Key keep flags [B, Tk] (1 keep, 0 masked) from an int32 mask view, or all ones. */
function readMask(mask: View | null, B: number, Tk: number): Uint8Array {
  const out = new Uint8Array(B * Tk).fill(1);
  if (mask) readContiguous(mask).forEach((m, i) => (out[i] = m !== 0 ? 1 : 0));
  return out;
}

interface GramState {
  pr: ref.GramPrep;
  C: Float64Array;
  V: Float64Array;
  st?: ref.ContrastiveStats;
}

export function cpuRoutines(backend: Backend): Routines {
  const st = (values: Float64Array, dtype: DType) => backend.fromHost(values, dtype);
  const wider = (a: View, b: View): DType => (a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32');

  function gramForward(a: View, o: View, s: { B: number; K: number; D: number }, eps: number): GramState {
    const pr = ref.gramPrep(readContiguous(a), readContiguous(o), s.B, s.K, s.D, eps);
    const { V, C } = ref.gramForward(pr);
    return { pr, C, V };
  }

  return {
    gramVolume(a, o, s, eps): Fused {
      const state = gramForward(a, o, s, eps);
      const dtype = wider(a, o);
      return { out: st(state.V, dtype), dtype, saved: [], state };
    },

    gramContrastive(a, o, s, eps, c): Fused {
      const state = gramForward(a, o, s, eps);
      state.st = ref.contrastiveForward(state.V, s.B, c.scale, c.smooth, c.c);
      const dtype = wider(a, o);
      return { out: st(Float64Array.of(state.st.loss), dtype), dtype, saved: [], state };
    },

    gramBackward(saved, state, s, _eps, g, c, need) {
      const { pr, C, V, st: stats } = state as GramState;
      const gv = readContiguous(g);
      const gV = c ? ref.contrastiveGrad(V, s.B, c.scale, c.smooth, c.c, stats!, gv[0]) : gv;
      const { gA, gO } = ref.gramBackward(pr, C, gV);
      return [need[0] ? st(gA, saved[0].dtype) : null, need[1] ? st(gO, saved[1].dtype) : null];
    },

    contrastive(x, B, c): Fused {
      const X = readContiguous(x);
      const stats = ref.contrastiveForward(X, B, c.scale, c.smooth, c.c);
      return { out: st(Float64Array.of(stats.loss), x.dtype), dtype: x.dtype, saved: [], state: { X, stats } };
    },

    contrastiveBackward(saved, state, B, c, g) {
      const { X, stats } = state as { X: Float64Array; stats: ref.ContrastiveStats };
      return st(ref.contrastiveGrad(X, B, c.scale, c.smooth, c.c, stats, readContiguous(g)[0]), saved[0].dtype);
    },

    attention({ g, q, k, v, mask, drop }): Fused {
      const r = attentionForwardCpu(g, readContiguous(q), readContiguous(k), readContiguous(v), readMask(mask, g.B, g.Tk), drop);
      return { out: st(r.out, q.dtype), dtype: q.dtype, saved: [{ storage: st(r.lse, 'float64'), shape: [g.B, g.H, g.Tq], dtype: 'float64' }] };
    },

    attentionBackward({ g, q, k, v, mask, drop }, out, stats, grad) {
      const r = attentionBackwardCpu(g, readContiguous(q), readContiguous(k), readContiguous(v), readMask(mask, g.B, g.Tk), drop, readContiguous(out), readContiguous(stats), readContiguous(grad));
      return { dq: st(r.dq, q.dtype), dk: st(r.dk, k.dtype), dv: st(r.dv, v.dtype) };
    },

    optimizer(params, _hyper, decay) {
      return new CpuOptimizer(params, decay);
    },
  };
}

/** The optimizer's math in float64, in place on the parameters' host arrays. */
class CpuOptimizer implements OptimizerRoutine {
  private readonly s1: (Float64Array | null)[];
  private readonly s2: (Float64Array | null)[];
  /** Parameter sizes, for zero state before the first step. */
  private readonly sizes: number[];
  private stats: StepStatus = { applied: true, gradNorm: 0, step: 0, skippedSteps: 0 };

  constructor(
    params: readonly View[],
    private readonly decay: readonly boolean[],
  ) {
    this.s1 = params.map(() => null);
    this.s2 = params.map(() => null);
    this.sizes = params.map((p) => sizeOf(p.shape));
  }

  private needsS1(h: OptimHyper): boolean {
    return h.kind !== 'sgd' || h.momentum !== 0;
  }

  step(params: readonly View[], grads: readonly (View | null)[], loss: View | null, h: OptimHyper): void {
    let sq = 0;
    let bad = false;
    if (loss && !Number.isFinite((loss.storage.handle as TypedArray)[loss.offset])) bad = true;
    grads.forEach((g) => {
      if (!g) return;
      const arr = g.storage.handle as TypedArray;
      const n = sizeOf(g.shape);
      for (let k = 0; k < n; k++) {
        const v = arr[g.offset + k];
        if (!Number.isFinite(v)) bad = true;
        else sq += v * v;
      }
    });
    const norm = Math.sqrt(sq);
    if (!Number.isFinite(sq)) bad = true;
    this.stats.gradNorm = norm;
    if (bad) {
      this.stats.applied = false;
      this.stats.skippedSteps++;
      return;
    }
    const t = ++this.stats.step;
    this.stats.applied = true;
    const clip = Number.isFinite(h.maxNorm) && h.maxNorm > 0;
    const coef = clip ? Math.min(1, h.maxNorm / (norm + 1e-6)) : 1;
    const lr = h.lr;
    params.forEach((p, i) => {
      const grad = grads[i];
      if (!grad) return;
      const P = p.storage.handle as TypedArray;
      const G = grad.storage.handle as TypedArray;
      const go = grad.offset;
      const wd = this.decay[i] ? h.weightDecay : 0;
      const n = sizeOf(p.shape);
      if (this.needsS1(h) && !this.s1[i]) this.s1[i] = new Float64Array(n);
      if (h.kind !== 'sgd' && !this.s2[i]) this.s2[i] = new Float64Array(n);
      const s1 = this.s1[i];
      const s2 = this.s2[i];
      const bc1 = 1 - Math.pow(h.beta1, t);
      const bc2 = 1 - Math.pow(h.beta2, t);
      for (let k = 0; k < n; k++) {
        let g = G[go + k] * coef;
        let w = P[p.offset + k];
        if (h.kind === 'sgd') {
          if (wd !== 0) g += wd * w;
          if (h.momentum !== 0) {
            const buf = t > 1 ? h.momentum * s1![k] + (1 - h.dampening) * g : g;
            s1![k] = buf;
            g = h.nesterov ? g + h.momentum * buf : buf;
          }
          w -= lr * g;
        } else {
          if (h.kind === 'adamw') w *= 1 - lr * wd;
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

  async status(): Promise<StepStatus> {
    return { ...this.stats };
  }

  async readState(which: 1 | 2): Promise<Float64Array[]> {
    return (which === 1 ? this.s1 : this.s2).map((a, i) => (a ? Float64Array.from(a) : new Float64Array(this.sizes[i])));
  }

  writeState(which: 1 | 2, perParam: readonly ArrayLike<number>[]): void {
    const dst = which === 1 ? this.s1 : this.s2;
    perParam.forEach((d, i) => {
      dst[i] = Float64Array.from(d);
    });
  }

  setCounters(step: number, skippedSteps: number): void {
    this.stats = { applied: true, gradNorm: 0, step, skippedSteps };
  }

  dispose(): void {}
}

