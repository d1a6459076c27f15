/**
 * The CPU reference of the Gram-volume and contrastive-softmax ops: direct float64 loops, the same
 * decomposition as the WGSL kernels (wgsl/gram.wgsl, wgsl/contrastive.wgsl) so each step can be
 * compared, and the oracle of the tests (float64 tensors on the CPU backend).
 *
 * Notation: B samples, K modalities (index 0 = the anchor), Km = K − 1 others, D features.
 * x̂ = x / max(‖x‖, eps). For pair (i, j) — sample i's others, sample j's anchor — the K×K Gram is
 *   G00 = â_j·â_j, G0k = â_j·m̂_ik (= C[i, j, k−1]), Gkl = m̂_ik·m̂_il (per sample i).
 * V[i, j] = sqrt(max(det G, VOL_CLAMP)).
 */
import { cofactorsSym, detSmall } from './smallLinalg.js';

/** det G is clamped here before the square root (gradient zero below, as torch.clamp). */
export const VOL_CLAMP = 1e-12;

export interface GramPrep {
  B: number;
  K: number;
  D: number;
  eps: number;
  /** Normalized vectors [B, K, D], k = 0 the anchor. */
  hat: Float64Array;
  /** Raw norms ‖x‖ [B, K]. */
  norms: Float64Array;
  /** Per-sample Gram of the normalized vectors [B, K, K] (entry [0][0] is the anchor's â·â). */
  gram: Float64Array;
}

/**
 * Normalizes and forms the per-sample Grams. The diagonal is 1 when ‖x‖ ≥ eps and ‖x‖²/eps²
 * below (exactly ‖x̂‖² in both cases), so a zero vector has a zero row in every Gram it enters.
 */
export function gramPrep(a: ArrayLike<number>, o: ArrayLike<number>, B: number, K: number, D: number, eps: number): GramPrep {
  const Km = K - 1;
  const hat = new Float64Array(B * K * D);
  const norms = new Float64Array(B * K);
  const gram = new Float64Array(B * K * K);
  const raw = new Float64Array(K * K);
  for (let i = 0; i < B; i++) {
    const base = (k: number) => (k === 0 ? { arr: a, off: i * D } : { arr: o, off: (i * Km + k - 1) * D });
    for (let k = 0; k < K; k++) {
      const { arr: xa, off: xo } = base(k);
      for (let l = k; l < K; l++) {
        const { arr: ya, off: yo } = base(l);
        let s = 0;
        for (let d = 0; d < D; d++) s += xa[xo + d] * ya[yo + d];
        raw[k * K + l] = s;
        raw[l * K + k] = s;
      }
    }
    const nn = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      const n = Math.sqrt(raw[k * K + k]);
      norms[i * K + k] = n;
      nn[k] = Math.max(n, eps);
      const { arr: xa, off: xo } = base(k);
      const h = (i * K + k) * D;
      for (let d = 0; d < D; d++) hat[h + d] = xa[xo + d] / nn[k];
    }
    for (let k = 0; k < K; k++) {
      for (let l = 0; l < K; l++) {
        gram[(i * K + k) * K + l] = k === l ? (norms[i * K + k] >= eps ? 1 : raw[k * K + k] / (eps * eps)) : raw[k * K + l] / (nn[k] * nn[l]);
      }
    }
  }
  return { B, K, D, eps, hat, norms, gram };
}

/** Fills the K×K Gram of pair (i, j) from the prep and the cross products C. */
export function pairGram(p: GramPrep, C: Float64Array, i: number, j: number, out: Float64Array): Float64Array {
  const { B, K } = p;
  const Km = K - 1;
  out[0] = p.gram[j * K * K];
  for (let k = 1; k < K; k++) {
    const c = C[(i * B + j) * Km + k - 1];
    out[k] = c;
    out[k * K] = c;
    for (let l = 1; l < K; l++) out[k * K + l] = p.gram[(i * K + k) * K + l];
  }
  return out;
}

/** V [B, B] and the cross products C [B(i), B(j), Km] = â_j·m̂_ik. */
export function gramForward(p: GramPrep): { V: Float64Array; C: Float64Array } {
  const { B, K, D, hat } = p;
  const Km = K - 1;
  const C = new Float64Array(B * B * Km);
  const V = new Float64Array(B * B);
  const G = new Float64Array(K * K);
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < B; j++) {
      const ao = j * K * D;
      for (let k = 0; k < Km; k++) {
        const mo = (i * K + 1 + k) * D;
        let s = 0;
        for (let d = 0; d < D; d++) s += hat[ao + d] * hat[mo + d];
        C[(i * B + j) * Km + k] = s;
      }
      pairGram(p, C, i, j, G);
      V[i * B + j] = Math.sqrt(Math.max(detSmall(G, K), VOL_CLAMP));
    }
  }
  return { V, C };
}

/** Per-pair gradient pieces (what the pair kernel writes): see gramBackward. */
export interface PairGrads {
  /** W[(i, k), j] = 2 s cof[0][1+k]: coefficient of â_j in d/dm̂_ik and of m̂_ik in d/dâ_j. [B·Km, B] */
  W: Float64Array;
  /** T[i, j] = s cof[0][0]: coefficient of the anchor's own Gram entry. [B, B] */
  T: Float64Array;
  /** Q[i, j] = Σ_k W C + 2 T G00: pair (i, j)'s share of â_j·dâ_j. [B, B] */
  Q: Float64Array;
  /** U[i, k, l] = Σ_j s cof[1+k][1+l]. [B, Km, Km] */
  U: Float64Array;
  /** r[i, k] = m̂_ik·dm̂_ik. [B, Km] */
  r: Float64Array;
}

/** s = gV / (2 Vol) where det ≥ VOL_CLAMP (else 0) times the cofactors, gathered per pair. */
export function gramPairGrads(p: GramPrep, C: Float64Array, gV: ArrayLike<number>): PairGrads {
  const { B, K } = p;
  const Km = K - 1;
  const W = new Float64Array(B * Km * B);
  const T = new Float64Array(B * B);
  const Q = new Float64Array(B * B);
  const U = new Float64Array(B * Km * Km);
  const r = new Float64Array(B * Km);
  const G = new Float64Array(K * K);
  const cof = new Float64Array(K * K);
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < B; j++) {
      pairGram(p, C, i, j, G);
      const det = detSmall(G, K);
      if (!(det >= VOL_CLAMP)) continue;
      const s = gV[i * B + j] / (2 * Math.sqrt(det));
      if (s === 0) continue;
      cofactorsSym(G, K, cof);
      let q = 0;
      for (let k = 0; k < Km; k++) {
        const w = 2 * s * cof[1 + k];
        W[(i * Km + k) * B + j] = w;
        const wc = w * G[1 + k];
        q += wc;
        r[i * Km + k] += wc;
        for (let l = 0; l < Km; l++) U[(i * Km + k) * Km + l] += s * cof[(1 + k) * K + 1 + l];
      }
      T[i * B + j] = s * cof[0];
      Q[i * B + j] = q + 2 * s * cof[0] * G[0];
    }
    for (let k = 0; k < Km; k++) {
      let t = 0;
      for (let l = 0; l < Km; l++) t += U[(i * Km + k) * Km + l] * p.gram[(i * K + 1 + k) * K + 1 + l];
      r[i * Km + k] += 2 * t;
    }
  }
  return { W, T, Q, U, r };
}

/** Backward of x̂ = x / max(‖x‖, eps) given gh = dL/dx̂ and rr = x̂·gh. */
function normBackward(gh: number, h: number, rr: number, norm: number, eps: number): number {
  return norm >= eps ? (gh - h * rr) / norm : gh / eps;
}

/** dL/d anchor [B, D] and dL/d others [B, Km, D] given dL/dV. */
export function gramBackward(p: GramPrep, C: Float64Array, gV: ArrayLike<number>): { gA: Float64Array; gO: Float64Array } {
  const { B, K, D, hat, norms, eps } = p;
  const Km = K - 1;
  const { W, T, Q, U, r } = gramPairGrads(p, C, gV);
  const gO = new Float64Array(B * Km * D);
  const gA = new Float64Array(B * D);
  const acc = new Float64Array(D);
  for (let i = 0; i < B; i++) {
    for (let k = 0; k < Km; k++) {
      acc.fill(0);
      for (let j = 0; j < B; j++) {
        const w = W[(i * Km + k) * B + j];
        if (w === 0) continue;
        const ao = j * K * D;
        for (let d = 0; d < D; d++) acc[d] += w * hat[ao + d];
      }
      for (let l = 0; l < Km; l++) {
        const u = 2 * U[(i * Km + k) * Km + l];
        const mo = (i * K + 1 + l) * D;
        for (let d = 0; d < D; d++) acc[d] += u * hat[mo + d];
      }
      const mo = (i * K + 1 + k) * D;
      const out = (i * Km + k) * D;
      const rr = r[i * Km + k];
      const n = norms[i * K + 1 + k];
      for (let d = 0; d < D; d++) gO[out + d] = normBackward(acc[d], hat[mo + d], rr, n, eps);
    }
  }
  for (let j = 0; j < B; j++) {
    acc.fill(0);
    let tsum = 0;
    let qsum = 0;
    for (let i = 0; i < B; i++) {
      tsum += T[i * B + j];
      qsum += Q[i * B + j];
      for (let k = 0; k < Km; k++) {
        const w = W[(i * Km + k) * B + j];
        if (w === 0) continue;
        const mo = (i * K + 1 + k) * D;
        for (let d = 0; d < D; d++) acc[d] += w * hat[mo + d];
      }
    }
    const ao = j * K * D;
    const n = norms[j * K];
    for (let d = 0; d < D; d++) gA[j * D + d] = normBackward(acc[d] + 2 * tsum * hat[ao + d], hat[ao + d], qsum, n, eps);
  }
  return { gA, gO };
}

// ---- contrastive softmax ---------------------------------------------------------------------

export interface ContrastiveStats {
  loss: number;
  /** Row and column log-sum-exp of the logits scale·X. */
  lr: Float64Array;
  lc: Float64Array;
}

/**
 * loss = c · Σ_i [CE(row i, i) + CE(column i, i)] with logits scale·X, c = 1/B ('sum' of the two
 * directions) or 1/(2B) ('mean'), label smoothing ε: target (1−ε)·onehot + ε/B.
 */
export function contrastiveForward(X: ArrayLike<number>, B: number, scale: number, smoothing: number, c: number): ContrastiveStats {
  const lr = new Float64Array(B);
  const lc = new Float64Array(B);
  const cm = new Float64Array(B).fill(-Infinity);
  const cs = new Float64Array(B);
  let total = 0;
  let trace = 0;
  for (let i = 0; i < B; i++) {
    let m = -Infinity;
    for (let j = 0; j < B; j++) m = Math.max(m, scale * X[i * B + j]);
    let s = 0;
    for (let j = 0; j < B; j++) {
      const x = scale * X[i * B + j];
      s += Math.exp(x - m);
      total += x;
      if (x > cm[j]) {
        cs[j] = cs[j] * Math.exp(cm[j] - x) + 1;
        cm[j] = x;
      } else {
        cs[j] += Math.exp(x - cm[j]);
      }
    }
    lr[i] = m + Math.log(s);
    trace += scale * X[i * B + i];
  }
  let sumL = 0;
  for (let j = 0; j < B; j++) {
    lc[j] = cm[j] + Math.log(cs[j]);
    sumL += lr[j] + lc[j];
  }
  const loss = c * (sumL - 2 * (1 - smoothing) * trace - ((2 * smoothing) / B) * total);
  return { loss, lr, lc };
}

/** d loss / d X given the upstream scalar gradient g. */
export function contrastiveGrad(X: ArrayLike<number>, B: number, scale: number, smoothing: number, c: number, st: ContrastiveStats, g: number): Float64Array {
  const out = new Float64Array(B * B);
  const k = g * c * scale;
  const off = smoothing / B;
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < B; j++) {
      const x = scale * X[i * B + j];
      const q = (i === j ? 1 - smoothing : 0) + off;
      out[i * B + j] = k * (Math.exp(x - st.lr[i]) + Math.exp(x - st.lc[j]) - 2 * q);
    }
  }
  return out;
}
