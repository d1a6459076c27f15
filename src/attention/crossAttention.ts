/**
 * crossAttention(q, k, v, { heads, keyMask, scale, dropout, training }): fused multi-head
 * scaled-dot-product attention with its own autograd rule.
 *
 *   q [B, Tq, D], k and v [B, Tk, D] -> [B, Tq, D]; per head h (columns h·D/heads ..):
 *   softmax(q_h k_hᵀ · scale + mask) v_h,  scale = 1/sqrt(D/heads) by default.
 *
 * WebGPU: one kernel forward (online softmax, stores only the per-row log-sum-exp) and three
 * backward (Delta, dK/dV, dQ), never a [B, heads, Tq, Tk] buffer (src/kernels/attention.ts).
 * CPU: the float64-capable reference of the same math (src/attention/cpu.ts).
 * Inputs are read through their strides when their last dimension is contiguous, so the halves
 * of a fused KV projection (slices of [B, Tk, 2D]) go in without a copy.
 */
import { Storage, type Backend } from '../backend/backend.js';
import { record } from '../autograd/engine.js';
import { defaultGenerator } from '../autograd/ops/random.js';
import { contiguous } from '../autograd/ops/shape.js';
import { backendOf, wrap } from '../autograd/ops/util.js';
import type { Tensor } from '../autograd/tensor.js';
import { gpuRuntime } from '../gpu/init.js';
import { runAttentionBackward, runAttentionForward, type AttnDropout, type AttnOperands } from '../kernels/attention.js';
import { attentionBackwardCpu, attentionForwardCpu, read3, readMask } from './cpu.js';
import { crossAttentionUnfused } from './reference.js';
import { checkAttentionArgs, MAX_FUSED_HEAD_DIM, type CrossAttentionOptions } from './args.js';

export { checkAttentionArgs, MAX_FUSED_HEAD_DIM, type CrossAttentionOptions } from './args.js';

/** A view the kernels take: rank 3 with a unit last stride (else a contiguous copy). */
function kernelReady(t: Tensor): Tensor {
  return t.strides[2] === 1 || t.shape[2] <= 1 ? t : contiguous(t);
}

export function crossAttention(q: Tensor, k: Tensor, v: Tensor, opts: CrossAttentionOptions): Tensor {
  const backend = backendOf('crossAttention', q, k, v, ...(opts.keyMask ? [opts.keyMask] : []));
  const g = checkAttentionArgs(q, k, v, opts);
  const p = opts.training === false ? 0 : (opts.dropout ?? 0);
  if (backend.name !== 'cpu' && g.DH > MAX_FUSED_HEAD_DIM) return crossAttentionUnfused(q, k, v, opts);
  const gen = opts.generator ?? defaultGenerator;
  const drop: AttnDropout | null = p > 0 ? { p, seed: gen.seed, counter: gen.take(g.B * g.H * g.Tq * Math.ceil(g.Tk / 4)) } : null;
  const D = g.H * g.DH;

  const qc = kernelReady(q);
  const kc = kernelReady(k);
  const vc = kernelReady(v);
  const mask = opts.keyMask ? (opts.keyMask.strides[1] === 1 || g.Tk <= 1 ? opts.keyMask : contiguous(opts.keyMask)) : null;
  const fwd = backend.name === 'cpu' ? forwardCpu(backend, { g, q: qc, k: kc, v: vc, mask, drop }, q.dtype) : forwardGpu(backend, { g, q: qc, k: kc, v: vc, mask, drop });
  const out = wrap(fwd.out, [g.B, g.Tq, D], q.dtype);
  const stats = wrap(fwd.stats, [g.B, g.H, g.Tq], fwd.statsDtype);
  const save = mask ? [qc, kc, vc, out, stats, mask] : [qc, kc, vc, out, stats];
  const y = record(
    'crossAttention',
    out,
    [q, k, v],
    (grad, [qs, ks, vs, os, ss, ms]) => {
      const need = { q: q.requiresGrad, kv: k.requiresGrad || v.requiresGrad };
      const ops: AttnOperands = { g, q: qs, k: ks, v: vs, mask: ms ?? null, drop };
      const r = backend.name === 'cpu' ? backwardCpu(backend, ops, os, ss, grad, q.dtype) : backwardGpu(backend, ops, os, ss, grad, need);
      // an input that needs no gradient has its buffer disposed by the engine
      return [r.dq ? wrap(r.dq, q.shape, q.dtype) : null, r.dk ? wrap(r.dk, k.shape, k.dtype) : null, r.dv ? wrap(r.dv, v.shape, v.dtype) : null];
    },
    save,
  );
  stats.dispose();
  for (const [a, b] of [[qc, q], [kc, k], [vc, v], [mask, opts.keyMask]] as const) if (a && a !== b) a.dispose();
  return y;
}

interface Fwd {
  out: Storage;
  stats: Storage;
  statsDtype: 'float32' | 'float64';
}

function forwardGpu(backend: Backend, a: AttnOperands): Fwd {
  const { g } = a;
  const r = runAttentionForward(gpuRuntime()!, a);
  const n = g.B * g.Tq * g.H * g.DH;
  return { out: new Storage(backend, r.out, n), stats: new Storage(backend, r.stats, 3 * g.B * g.H * g.Tq), statsDtype: 'float32' };
}

function forwardCpu(backend: Backend, { g, q, k, v, mask, drop }: AttnOperands, dtype: string): Fwd {
  const r = attentionForwardCpu(g, read3(q), read3(k), read3(v), readMask(mask, g.B, g.Tk), drop);
  const out = dtype === 'float64' ? r.out : Float32Array.from(r.out);
  return { out: new Storage(backend, out, out.length), stats: new Storage(backend, r.lse, r.lse.length), statsDtype: 'float64' };
}

interface Bwd {
  dq: Storage | null;
  dk: Storage | null;
  dv: Storage | null;
}

function backwardGpu(backend: Backend, a: AttnOperands, out: Tensor, stats: Tensor, grad: Tensor, need: { q: boolean; kv: boolean }): Bwd {
  const { g } = a;
  const gr = kernelReady(grad);
  const r = runAttentionBackward(gpuRuntime()!, a, out.storage.handle as GPUBuffer, stats.storage.handle as GPUBuffer, gr, need);
  if (gr !== grad) gr.dispose();
  const nq = g.B * g.Tq * g.H * g.DH;
  const nk = g.B * g.Tk * g.H * g.DH;
  return {
    dq: r.dq ? new Storage(backend, r.dq, nq) : null,
    dk: r.dk ? new Storage(backend, r.dk, nk) : null,
    dv: r.dv ? new Storage(backend, r.dv, nk) : null,
  };
}

function backwardCpu(backend: Backend, { g, q, k, v, mask, drop }: AttnOperands, out: Tensor, stats: Tensor, grad: Tensor, dtype: string): Bwd {
  const lse = stats.storage.handle as Float64Array;
  const r = attentionBackwardCpu(g, read3(q), read3(k), read3(v), readMask(mask, g.B, g.Tk), drop, read3(out), lse, read3(grad));
  const st = (x: Float64Array) => {
    const d = dtype === 'float64' ? x : Float32Array.from(x);
    return new Storage(backend, d, d.length);
  };
  return { dq: st(r.dq), dk: st(r.dk), dv: st(r.dv) };
}
