/**
 * Cross-attention with the key and value projections folded out of the keys (exact algebra).
 *
 * With projected queries q (one head: q_h ∈ R^dh) and normalized key/value tokens x_t ∈ R^dKv,
 * a block computes k_t = W_k x_t + b_k and v_t = W_v x_t + b_v for every token, then
 *   s_ht = q_h · k_ht / √dh,   a_ht = softmax_t(s_ht),   o_h = Σ_t a_ht v_ht.
 * Per head, q_h · (W_k,h x_t + b_k,h) = (W_k,hᵀ q_h) · x_t + q_h · b_k,h, and the second term does not
 * depend on t, so softmax drops it: the scores are q̃_h · x_t with q̃_h = W_k,hᵀ q_h / √dh. And
 *   o_h = W_v,h (Σ_t a_ht x_t) + b_v,h Σ_t a_ht:
 * pool the tokens first, project once per query and head. The keys and values of Tk tokens are never
 * formed: 4·Tq·d·dKv + 4·H·Tq·Tk·dKv FLOPs instead of 4·Tk·dKv·d + 4·Tq·Tk·d, which pays when few
 * queries attend to many tokens (EnhanceText: 1 query, 104 tokens, 41× fewer; Enhance: 10 queries, 4×).
 * Masked keys follow crossAttentionUnfused (src/attention/reference.ts): a row with no key gives 0.
 * No attention dropout here (the callers fold only without it).
 */
import type { Tensor } from '../autograd/tensor.js';
import { tidy } from '../autograd/engine.js';
import * as E from '../autograd/ops/elementwise.js';
import { matmul } from '../autograd/ops/linalg.js';
import { softmax } from '../autograd/ops/nn.js';
import { max, sum } from '../autograd/ops/reduce.js';
import { contiguous, permute, reshape, slice, transpose } from '../autograd/ops/shape.js';

/**
 * q [B, Tq, d] (already projected), x [B, Tk, dKv] (the normalized tokens), kvWeight [2d, dKv] and
 * kvBias [2d] (keys first, then values: the fused projection of CrossAttentionBlock) -> [B, Tq, d],
 * the attention output before the output projection.
 */
export function foldedCrossAttention(q: Tensor, x: Tensor, kvWeight: Tensor, kvBias: Tensor | null, heads: number, keyMask: Tensor | null = null): Tensor {
  const [B, Tq, d] = q.shape;
  const [, Tk, dKv] = x.shape;
  const H = heads;
  const dh = d / H;
  return tidy(() => {
    // Laid out so that no matmul operand is broadcast (its gradient would need a reduction over
    // the broadcast dim): per-head products batch over H with rows B·Tq; per-sample products
    // batch over B with rows H·Tq.
    const wk = reshape(slice(kvWeight, 0, 0, d), [H, dh, dKv]);
    const wv = reshape(slice(kvWeight, 0, d, 2 * d), [H, dh, dKv]);
    const toHeads = (t: Tensor, w: number) => reshape(contiguous(permute(reshape(t, [B, H, Tq, w]), [1, 0, 2, 3])), [H, B * Tq, w]);
    const toSamples = (t: Tensor, w: number) => reshape(contiguous(permute(reshape(t, [H, B, Tq, w]), [1, 0, 2, 3])), [B, H * Tq, w]);
    const qh = reshape(contiguous(permute(reshape(E.mul(q, 1 / Math.sqrt(dh)), [B, Tq, H, dh]), [2, 0, 1, 3])), [H, B * Tq, dh]);
    const qt = toSamples(matmul(qh, wk), dKv); // [B, H·Tq, dKv]: q̃ per head and query
    let s = matmul(qt, transpose(x)); // [B, H·Tq, Tk]
    let hasKey: Tensor | null = null;
    if (keyMask) {
      const keep = reshape(E.cast(E.ne(keyMask, 0), q.dtype), [B, 1, Tk]);
      s = E.add(s, E.mul(E.sub(keep, 1), 1e30));
      hasKey = max(keep, -1, true);
    }
    let a = softmax(s, -1);
    if (hasKey) a = E.mul(a, hasKey);
    const pooled = toHeads(matmul(a, x), dKv); // [H, B·Tq, dKv]
    let o = permute(reshape(matmul(pooled, transpose(wv)), [H, B, Tq, dh]), [1, 2, 0, 3]); // [B, Tq, H, dh]
    if (kvBias) {
      const bv = reshape(slice(kvBias, 0, d, 2 * d), [H, dh]);
      const rowSum = permute(reshape(sum(a, -1, true), [B, H, Tq, 1]), [0, 2, 1, 3]); // [B, Tq, H, 1]
      o = E.add(o, E.mul(rowSum, bv));
    }
    return reshape(contiguous(o), [B, Tq, d]);
  });
}

/** FLOPs per sample of the folded form and of the standard one (projections and attention only). */
export function attentionFlops(Tq: number, Tk: number, d: number, dKv: number, heads: number): { folded: number; standard: number } {
  return {
    folded: 4 * Tq * d * dKv + 4 * heads * Tq * Tk * dKv,
    standard: 4 * Tk * dKv * d + 4 * Tq * Tk * d,
  };
}
