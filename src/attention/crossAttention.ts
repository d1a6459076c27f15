/**
 * crossAttention(q, k, v, { heads, keyMask, scale, dropout, training }): fused multi-head
 * scaled-dot-product attention with its own autograd rule.
 *
 *   q [B, Tq, D], k and v [B, Tk, D] -> [B, Tq, D]; per head h (columns h·D/heads ..):
 *   softmax(q_h k_hᵀ · scale + mask) v_h,  scale = 1/sqrt(D/heads) by default.
 *
 * A backend routine (src/backend/routines.ts). WebGPU: one kernel forward (online softmax, stores
 * only the per-row log-sum-exp) and three backward (Delta, dK/dV, dQ), never a
 * [B, heads, Tq, Tk] buffer (src/backend/webgpu/attention.ts); it declines heads wider than
 * MAX_FUSED_HEAD_DIM. CPU: the float64-capable reference of the same math (src/attention/cpu.ts).
 * Declined: the composition of engine ops in ./reference.ts.
 * Inputs are read through their strides when their last dimension is contiguous, so the halves
 * of a fused KV projection (slices of [B, Tk, 2D]) go in without a copy.
 */
import { runRoutine } from '../autograd/routine.js';
import { defaultGenerator } from '../autograd/ops/random.js';
import { contiguous } from '../autograd/ops/shape.js';
import { backendOf } from '../autograd/ops/util.js';
import type { Tensor } from '../autograd/tensor.js';
import type { AttnDropout, AttnOperands } from '../backend/webgpu/attention.js';
import { crossAttentionUnfused } from './reference.js';
import { checkAttentionArgs, type CrossAttentionOptions } from './args.js';

export { checkAttentionArgs, MAX_FUSED_HEAD_DIM, type CrossAttentionOptions } from './args.js';

/** A view the kernels take: rank 3 with a unit last stride (else a contiguous copy). */
function kernelReady(t: Tensor): Tensor {
  return t.strides[2] === 1 || t.shape[2] <= 1 ? t : contiguous(t);
}

export function crossAttention(q: Tensor, k: Tensor, v: Tensor, opts: CrossAttentionOptions): Tensor {
  backendOf('crossAttention', q, k, v, ...(opts.keyMask ? [opts.keyMask] : []));
  const g = checkAttentionArgs(q, k, v, opts);
  const p = opts.training === false ? 0 : (opts.dropout ?? 0);
  const gen = opts.generator ?? defaultGenerator;
  const counterBefore = gen.counter;
  const drop: AttnDropout | null = p > 0 ? { p, seed: gen.seed, counter: gen.take(g.B * g.H * g.Tq * Math.ceil(g.Tk / 4)) } : null;
  const D = g.H * g.DH;

  const qc = kernelReady(q);
  const kc = kernelReady(k);
  const vc = kernelReady(v);
  const mask = opts.keyMask ? (opts.keyMask.strides[1] === 1 || g.Tk <= 1 ? opts.keyMask : contiguous(opts.keyMask)) : null;
  const operands = mask ? [qc, kc, vc, mask] : [qc, kc, vc];
  try {
    return runRoutine({
      op: 'crossAttention',
      inputs: [q, k, v],
      operands,
      shape: [g.B, g.Tq, D],
      saveOutput: true,
      forward: (r) => {
        const f = r.attention?.({ g, q: qc, k: kc, v: vc, mask, drop });
        if (!f) gen.counter = counterBefore; // declined: the composed version draws its own dropout
        return f;
      },
      backward: (r, saved, _state, grad) => {
        const [qs, ks, vs] = saved;
        const ms = mask ? saved[3] : null;
        const [stats, out] = saved.slice(operands.length);
        const ops: AttnOperands = { g, q: qs, k: ks, v: vs, mask: ms, drop };
        // an input that needs no gradient has its buffer disposed by the engine
        const d = r.attentionBackward!(ops, out, stats, grad, { q: q.requiresGrad, kv: k.requiresGrad || v.requiresGrad });
        return [d.dq, d.dk, d.dv];
      },
      fallback: () => crossAttentionUnfused(q, k, v, opts),
    });
  } finally {
    for (const [a, b] of [[qc, q], [kc, k], [vc, v], [mask, opts.keyMask]] as const) if (a && a !== b) a.dispose();
  }
}
