/**
 * Routines: the fused ops of the backend contract (as jax-js keeps its routines inside the
 * backend). Each is a forward/backward pair on views that returns fresh storages, so the
 * autograd layer stays backend-free. A backend implements a routine or declines it: an absent
 * entry, or a forward that returns null for the sizes it is given. The op's front then runs its
 * composition of primitives instead; that fallback is chosen in one place, runRoutine()
 * (src/autograd/routine.ts).
 *
 *   routine            forward -> out                 its backward
 *   gramVolume         V [B, B]                       gramBackward (g = dL/dV)
 *   gramContrastive    loss [] (contrastive of s·V)   gramBackward (g = dL/dloss, c given)
 *   contrastive        loss []                        contrastiveBackward
 *   attention          out [B, Tq, D], saved stats    attentionBackward
 *   optimizer          a stateful OptimizerRoutine over flat parameter state
 *
 * Ownership: `out` and every `saved` storage belong to the caller. runRoutine wraps them as
 * tensors and keeps `saved` alive (with the contiguous inputs) until the backward has run;
 * `state` is host data the backend keeps for its own backward (the CPU's float64 intermediates).
 * WebGPU implements every routine in src/backend/webgpu/routines.ts (WGSL kernels), the CPU in
 * src/backend/cpu-routines.ts (the float64 references of src/alignment/reference.ts and
 * src/attention/cpu.ts).
 */
import type { DType, Storage, View } from './backend.js';
import type { AttnOperands } from './webgpu/attention.js';
import type { OptimHyper } from './webgpu/optim.js';

/** Anchor [B, D] and K−1 other modalities [B, K−1, D]. */
export interface GramShape {
  B: number;
  K: number;
  D: number;
}

/** The two-direction contrastive softmax over scale·X: label smoothing and the reduction factor c. */
export interface ContrastiveParams {
  scale: number;
  smooth: number;
  c: number;
}

/** A storage the backward needs, with the shape and dtype to wrap it as a tensor. */
export interface Saved {
  storage: Storage;
  shape: readonly number[];
  dtype: DType;
}

/** A routine's forward: its output (dtype given) and what its backward needs. */
export interface Fused {
  out: Storage;
  dtype: DType;
  saved: Saved[];
  state?: unknown;
}

export interface StepStatus {
  /** Whether the last step changed the parameters (false: non-finite loss or gradients). */
  applied: boolean;
  /** Global L2 norm of the gradients at the last step (before clipping). */
  gradNorm: number;
  /** Steps applied so far (Adam's t). */
  step: number;
  /** Steps skipped by the non-finite guard so far. */
  skippedSteps: number;
}

/**
 * A fused optimizer over fixed parameters: SGD / Adam / AdamW with clipping and the non-finite
 * guard (src/optim/optimizer.ts holds the rules' documentation and the user API).
 */
export interface OptimizerRoutine {
  /** One step: params[i] is updated in place from grads[i] (null: skipped this step). */
  step(params: readonly View[], grads: readonly (View | null)[], loss: View | null, hyper: OptimHyper): void;
  status(): Promise<StepStatus>;
  /** First (1: momentum / exp_avg) or second (2: exp_avg_sq) moment per parameter. */
  readState(which: 1 | 2): Promise<(Float32Array | Float64Array)[]>;
  writeState(which: 1 | 2, perParam: readonly ArrayLike<number>[]): void;
  setCounters(step: number, skippedSteps: number): void;
  dispose(): void;
}

export interface Routines {
  /** V [B, B] of contiguous anchor `a` and others `o`; saved for gramBackward. */
  gramVolume?(a: View, o: View, s: GramShape, eps: number): Fused | null;
  /** contrastive(scale·V) as one node: loss []; saved for gramBackward with `c`. */
  gramContrastive?(a: View, o: View, s: GramShape, eps: number, c: ContrastiveParams): Fused | null;
  /**
   * dA [B, D] and dO (o's shape) where needed. `saved` is [a, o, ...the forward's saved];
   * g is dL/dV [B, B] (c null) or dL/dloss [] of the fused contrastive (c given).
   */
  gramBackward?(saved: readonly View[], state: unknown, s: GramShape, eps: number, g: View, c: ContrastiveParams | null, need: [boolean, boolean]): [Storage | null, Storage | null];
  /** Two-direction contrastive softmax loss [] of contiguous logits x [B, B]. */
  contrastive?(x: View, B: number, c: ContrastiveParams): Fused | null;
  /** dX [B, B]; `saved` is [x, ...the forward's saved]. */
  contrastiveBackward?(saved: readonly View[], state: unknown, B: number, c: ContrastiveParams, g: View): Storage;
  /** Multi-head cross-attention: out [B, Tq, D]; saved [stats]. Inputs have a unit last stride. */
  attention?(a: AttnOperands): Fused | null;
  /** dq, dk, dv where needed (`need`), from the forward's out and stats. */
  attentionBackward?(a: AttnOperands, out: View, stats: View, g: View, need: { q: boolean; kv: boolean }): { dq: Storage | null; dk: Storage | null; dv: Storage | null };
  /** A fused optimizer over these parameters (decay[i]: weight decay applies to parameter i). */
  optimizer?(params: readonly View[], hyper: OptimHyper, decay: readonly boolean[]): OptimizerRoutine;
}
