/**
 * Determinants and cofactors of small (K ≤ 8) dense matrices in float64, the CPU twins of the
 * register-resident WGSL routines in wgsl/gram.wgsl (same algorithms, same order of operations):
 * closed forms for n ≤ 3, Gaussian elimination with partial pivoting above.
 */

/** det of the n×n row-major matrix m (not modified). A zero pivot column gives exactly 0. */
export function detSmall(m: ArrayLike<number>, n: number): number {
  if (n === 1) return m[0];
  if (n === 2) return m[0] * m[3] - m[1] * m[2];
  if (n === 3) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  }
  const a = Float64Array.from(m as ArrayLike<number>);
  let det = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    let best = Math.abs(a[c * n + c]);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(a[r * n + c]);
      if (v > best) {
        best = v;
        p = r;
      }
    }
    if (best === 0) return 0;
    if (p !== c) {
      det = -det;
      for (let k = c; k < n; k++) {
        const t = a[c * n + k];
        a[c * n + k] = a[p * n + k];
        a[p * n + k] = t;
      }
    }
    const piv = a[c * n + c];
    det *= piv;
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / piv;
      if (f === 0) continue;
      for (let k = c + 1; k < n; k++) a[r * n + k] -= f * a[c * n + k];
    }
  }
  return det;
}

/**
 * The cofactor matrix of a symmetric n×n matrix g (cof[a][b] = (−1)^{a+b} det(minor_ab)), which
 * for symmetric g equals adj(g)ᵀ = d det / d g. Computed from minors, so it is finite and exact
 * for singular g too (no det·g⁻¹). Fills the full n×n `out` (symmetric).
 */
export function cofactorsSym(g: ArrayLike<number>, n: number, out: Float64Array): Float64Array {
  if (n === 1) {
    out[0] = 1;
    return out;
  }
  const m = n - 1;
  const minor = new Float64Array(m * m);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      let q = 0;
      for (let r = 0; r < n; r++) {
        if (r === a) continue;
        for (let c = 0; c < n; c++) {
          if (c === b) continue;
          minor[q++] = g[r * n + c];
        }
      }
      const v = ((a + b) % 2 === 0 ? 1 : -1) * detSmall(minor, m);
      out[a * n + b] = v;
      out[b * n + a] = v;
    }
  }
  return out;
}
