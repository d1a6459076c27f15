/**
 * The unfused composition of multi-head attention from engine ops (reshape/permute for heads,
 * matmul -> softmax -> matmul), with autograd through each op. It is the parity oracle of the
 * fused kernels, the benchmark baseline, and the fallback for head dims past the fused limit.
 * Dropout here uses the engine's dropout op (its own random stream, not the fused kernel's).
 */
import { tidy } from '../autograd/engine.js';
import * as E from '../autograd/ops/elementwise.js';
import { matmul } from '../autograd/ops/linalg.js';
import { dropout, softmax } from '../autograd/ops/nn.js';
import { max } from '../autograd/ops/reduce.js';
import { permute, reshape, transpose } from '../autograd/ops/shape.js';
import type { Tensor } from '../autograd/tensor.js';
import { checkAttentionArgs, type CrossAttentionOptions } from './args.js';

export function crossAttentionUnfused(q: Tensor, k: Tensor, v: Tensor, opts: CrossAttentionOptions): Tensor {
  const g = checkAttentionArgs(q, k, v, opts);
  const { B, H, Tq, Tk, DH, scale } = g;
  const p = opts.training === false ? 0 : (opts.dropout ?? 0);
  return tidy(() => {
    const heads = (t: Tensor, T: number) => permute(reshape(t, [B, T, H, DH]), [0, 2, 1, 3]); // [B, H, T, DH]
    const qh = heads(q, Tq);
    const kh = heads(k, Tk);
    const vh = heads(v, Tk);
    let s = E.mul(matmul(qh, transpose(kh)), scale); // [B, H, Tq, Tk]
    let hasKey: Tensor | null = null;
    if (opts.keyMask) {
      const keep = reshape(E.cast(E.ne(opts.keyMask, 0), q.dtype), [B, 1, 1, Tk]);
      // masked scores get -1e30 (finite: a row with no key would otherwise be NaN), and rows with
      // no key are zeroed after the softmax
      s = E.add(s, E.mul(E.sub(keep, 1), 1e30));
      hasKey = max(keep, -1, true);
    }
    let a = softmax(s, -1);
    if (hasKey) a = E.mul(a, hasKey);
    if (p > 0) a = dropout(a, p, true);
    const o = matmul(a, vh); // [B, H, Tq, DH]
    return reshape(permute(o, [0, 2, 1, 3]), [B, Tq, H * DH]);
  });
}
