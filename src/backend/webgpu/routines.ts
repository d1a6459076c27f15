/**
 * The WebGPU backend's routines (src/backend/routines.ts): the fused WGSL kernels of GRAM volumes
 * (wgsl/gram.wgsl), the contrastive loss (wgsl/contrastive.wgsl), cross-attention
 * (wgsl/attention.wgsl) and the optimizer step (wgsl/optim.wgsl).
 */
import { contiguousStrides, Storage, type View } from '../backend.js';
import { COPY } from '../op-table.js';
import type { ContrastiveParams, Fused, GramShape, OptimizerRoutine, Routines, StepStatus } from '../routines.js';
import type { GpuRuntime } from '../../gpu/runtime.js';
import { GpuError } from '../../gpu/errors.js';
import { runMap } from './elementwise.js';
import { runGramBackward, runGramForward, type GramPrepBuffers } from './gram.js';
import { runContrastiveBackward, runContrastiveForward, statsLength } from './contrastive.js';
import { attentionLoopTrips, runAttentionBackward, runAttentionForward, type AttnOperands } from './attention.js';
import { OPTIM_CTRL, OPTIM_PARTIALS, runOptimStep, type OptimBuffers, type OptimHyper } from './optim.js';
import { MAX_FUSED_HEAD_DIM } from '../../attention/args.js';

interface Owner {
  readonly rt: GpuRuntime;
}

export function webgpuRoutines(backend: Owner & ConstructorParameters<typeof Storage>[0]): Routines {
  const rt = backend.rt;
  const st = (buffer: GPUBuffer, length: number) => new Storage(backend, buffer, length);
  const handle = (v: View) => v.storage.handle as GPUBuffer;

  /** The GRAM forward's saved storages: per-sample norms + Grams, and the cofactors C. */
  function gramForward(a: View, o: View, s: GramShape, eps: number) {
    const { pr, V, C } = runGramForward(rt, a, o, s.B, s.K, s.D, eps);
    const aux = { storage: st(pr.aux, s.B * (s.K + s.K * s.K)), shape: [s.B, s.K + s.K * s.K], dtype: 'float32' as const };
    const cof = { storage: st(C, s.B * s.B * (s.K - 1)), shape: [s.B, s.B, s.K - 1], dtype: 'float32' as const };
    return { V, saved: [aux, cof] };
  }

  return {
    gramVolume(a, o, s, eps): Fused {
      const f = gramForward(a, o, s, eps);
      return { out: st(f.V, s.B * s.B), dtype: 'float32', saved: f.saved };
    },

    gramContrastive(a, o, s, eps, c): Fused {
      const f = gramForward(a, o, s, eps);
      const V: View = { storage: st(f.V, s.B * s.B), shape: [s.B, s.B], strides: [s.B, 1], offset: 0, dtype: 'float32' };
      const { stats, loss } = runContrastiveForward(rt, V, s.B, c);
      V.storage.release();
      const statsS = { storage: st(stats, statsLength(s.B)), shape: [statsLength(s.B)], dtype: 'float32' as const };
      return { out: st(loss, 1), dtype: 'float32', saved: [...f.saved, statsS] };
    },

    gramBackward(saved, _state, s, eps, g, c: ContrastiveParams | null, need) {
      const [a, o, aux, C, stats] = saved;
      const pr: GramPrepBuffers = { B: s.B, K: s.K, D: s.D, a, o, aux: handle(aux) };
      const src = c ? { kind: 'contrastive' as const, g, stats: handle(stats), ...c } : { kind: 'grad' as const, gV: g };
      const [gA, gO] = runGramBackward(rt, pr, handle(C), src, eps, need);
      return [gA && st(gA, s.B * s.D), gO && st(gO, s.B * (s.K - 1) * s.D)];
    },

    contrastive(x, B, c): Fused {
      const { stats, loss } = runContrastiveForward(rt, x, B, c);
      return { out: st(loss, 1), dtype: 'float32', saved: [{ storage: st(stats, statsLength(B)), shape: [statsLength(B)], dtype: 'float32' }] };
    },

    contrastiveBackward(saved, _state, B, c, g) {
      const [x, stats] = saved;
      return st(runContrastiveBackward(rt, x, B, handle(stats), g, c), B * B);
    },

    attention(a: AttnOperands): Fused | null {
      const { g } = a;
      if (g.DH > MAX_FUSED_HEAD_DIM) return null; // wider heads than the kernels' registers hold
      if (attentionLoopTrips(g) > rt.loopTrips) return null; // past the loops this driver completes
      const r = runAttentionForward(rt, a);
      return {
        out: st(r.out, g.B * g.Tq * g.H * g.DH),
        dtype: 'float32',
        saved: [{ storage: st(r.stats, 3 * g.B * g.H * g.Tq), shape: [g.B, g.H, g.Tq], dtype: 'float32' }],
      };
    },

    attentionBackward(a, out, stats, grad, need) {
      const { g } = a;
      // The kernels read rows with a unit last stride.
      let copy: Storage | null = null;
      let gr = grad;
      if (grad.strides[2] !== 1 && grad.shape[2] > 1) {
        copy = st(runMap(rt, COPY, [grad], grad.shape, grad.dtype), g.B * g.Tq * g.H * g.DH);
        gr = { storage: copy, shape: grad.shape, strides: contiguousStrides(grad.shape), offset: 0, dtype: grad.dtype };
      }
      const r = runAttentionBackward(rt, a, handle(out), handle(stats), gr, need);
      copy?.release();
      const nq = g.B * g.Tq * g.H * g.DH;
      const nk = g.B * g.Tk * g.H * g.DH;
      return { dq: r.dq && st(r.dq, nq), dk: r.dk && st(r.dk, nk), dv: r.dv && st(r.dv, nk) };
    },

    optimizer(params, hyper, decay) {
      return new GpuOptimizer(rt, params, hyper, decay);
    },
  };
}

/**
 * The optimizer on the GPU: every parameter, gradient and state in flat buffers (one segment per
 * parameter tensor). A step records a copy of each parameter and gradient into the flat buffers,
 * a small stats pass (gradient norm + non-finite count) and ONE fused update kernel over all
 * parameters, then copies the parameters back. No host sync: the guard and the clipping are
 * decided on the device.
 */
class GpuOptimizer implements OptimizerRoutine {
  private readonly n: number;
  private readonly offsets: number[];
  private readonly bufs: OptimBuffers;
  private readonly active: boolean[];
  private readonly segInfo: Float32Array;

  constructor(
    private readonly rt: GpuRuntime,
    params: readonly View[],
    hyper: OptimHyper,
    decay: readonly boolean[],
  ) {
    const offsets: number[] = [];
    let n = 0;
    for (const p of params) {
      offsets.push(n);
      n += sizeOfView(p);
    }
    offsets.push(n);
    if (n * 4 > rt.maxBindingBytes) {
      throw new Error(`optimizer: ${n} parameters (${n * 4} bytes) exceed the adapter's storage binding limit of ${rt.maxBindingBytes} bytes`);
    }
    const zeros = (count: number) => rt.upload(new Float32Array(Math.max(count, 1)), 'optimizer state');
    const segInfo = new Float32Array(params.length * 2);
    params.forEach((_, i) => {
      segInfo[2 * i] = 0;
      segInfo[2 * i + 1] = decay[i] ? 1 : 0;
    });
    const s1 = hyper.kind !== 'sgd' || hyper.momentum !== 0;
    const s2 = hyper.kind !== 'sgd';
    this.n = n;
    this.offsets = offsets;
    this.active = params.map(() => false);
    this.segInfo = segInfo;
    this.bufs = {
      P: zeros(n),
      G: zeros(n),
      S1: zeros(s1 ? n : 1),
      S2: zeros(s2 ? n : 1),
      SEG: rt.upload(Uint32Array.from(offsets), 'optimizer segments'),
      SEGINFO: rt.upload(segInfo, 'optimizer segment info'),
      STATS: zeros(2 * OPTIM_PARTIALS + OPTIM_CTRL),
    };
  }

  step(params: readonly View[], grads: readonly (View | null)[], loss: View | null, hyper: OptimHyper): void {
    const { rt, bufs, offsets } = this;
    let changed = false;
    params.forEach((_, i) => {
      const a = grads[i] !== null;
      if (a !== this.active[i]) {
        this.active[i] = a;
        this.segInfo[2 * i] = a ? 1 : 0;
        changed = true;
      }
    });
    if (changed) {
      // Earlier recorded steps read SEGINFO: submit them before overwriting it.
      rt.flush();
      rt.device.queue.writeBuffer(bufs.SEGINFO, 0, this.segInfo.buffer, this.segInfo.byteOffset, this.segInfo.byteLength);
    }
    params.forEach((p, i) => {
      const g = grads[i];
      if (!g) return;
      if (g.storage.backend !== p.storage.backend) throw new GpuError(`optimizer: the gradient of parameter ${i} is not on the GPU`);
      const bytes = sizeOfView(p) * 4;
      if (bytes === 0) return;
      rt.copy(p.storage.handle as GPUBuffer, p.offset * 4, bufs.P, offsets[i] * 4, bytes);
      rt.copy(g.storage.handle as GPUBuffer, g.offset * 4, bufs.G, offsets[i] * 4, bytes);
    });
    if (loss) rt.copy(loss.storage.handle as GPUBuffer, loss.offset * 4, bufs.STATS, (2 * OPTIM_PARTIALS + 4) * 4, 4);
    runOptimStep(rt, bufs, this.n, params.length, { ...hyper, checkLoss: !!loss });
    params.forEach((p, i) => {
      const size = sizeOfView(p);
      if (!grads[i] || size === 0) return;
      rt.copy(bufs.P, offsets[i] * 4, p.storage.handle as GPUBuffer, p.offset * 4, size * 4);
    });
  }

  async status(): Promise<StepStatus> {
    const c = 2 * OPTIM_PARTIALS;
    const bytes = await this.rt.read(this.bufs.STATS, OPTIM_CTRL * 4, c * 4);
    const f = new Float32Array(bytes);
    const u = new Uint32Array(bytes);
    const applied = f[1] > 0.5;
    return { applied, gradNorm: f[2], step: u[0] + (applied ? 1 : 0), skippedSteps: f[3] };
  }

  async readState(which: 1 | 2): Promise<Float32Array[]> {
    const all = new Float32Array(await this.rt.read(which === 1 ? this.bufs.S1 : this.bufs.S2, this.n * 4));
    return this.offsets.slice(0, -1).map((o, i) => all.slice(o, this.offsets[i + 1]));
  }

  writeState(which: 1 | 2, perParam: readonly ArrayLike<number>[]): void {
    const all = new Float32Array(this.n);
    perParam.forEach((d, i) => all.set(d, this.offsets[i]));
    this.rt.flush();
    this.rt.device.queue.writeBuffer(which === 1 ? this.bufs.S1 : this.bufs.S2, 0, all.buffer, 0, all.byteLength);
  }

  setCounters(step: number, skippedSteps: number): void {
    const ctrl = new ArrayBuffer(OPTIM_CTRL * 4);
    new Uint32Array(ctrl)[0] = step >>> 0;
    new Float32Array(ctrl)[3] = skippedSteps;
    this.rt.flush();
    this.rt.device.queue.writeBuffer(this.bufs.STATS, 2 * OPTIM_PARTIALS * 4, ctrl, 0, ctrl.byteLength);
  }

  dispose(): void {
    for (const b of Object.values(this.bufs)) this.rt.free(b);
  }
}

function sizeOfView(v: View): number {
  let n = 1;
  for (const d of v.shape) n *= d;
  return n;
}
