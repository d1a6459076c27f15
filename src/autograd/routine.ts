/**
 * runRoutine: a fused backend routine (src/backend/routines.ts) as one autograd node, or the op's
 * composition of primitives when the backend declines it. The one place where a fused op's
 * fallback is chosen; no backend names or storage handles above this line.
 */
import type { Storage, View } from '../backend/backend.js';
import type { Fused, Routines } from '../backend/routines.js';
import { noGrad, record } from './engine.js';
import { contiguous } from './ops/shape.js';
import { wrap } from './ops/util.js';
import type { Tensor } from './tensor.js';

export interface RoutineCall {
  op: string;
  /** The differentiable inputs: backward returns one gradient storage (or null) per input. */
  inputs: readonly Tensor[];
  /** Tensors the backward reads (contiguous operands): saved first, before the routine's own. */
  operands: readonly Tensor[];
  /** The output's shape. */
  shape: readonly number[];
  /** Also save the output (last in `saved`), for a backward that reads it. */
  saveOutput?: boolean;
  /** Runs the routine; undefined (the backend lacks it) or null (declined for these sizes) falls back. */
  forward(r: Routines): Fused | null | undefined;
  /** Gradients from the saved views ([...operands, ...the routine's saved, output?]), its state and g (contiguous). */
  backward(r: Routines, saved: readonly View[], state: unknown, g: Tensor): (Storage | null)[];
  /** The composed version, built from primitives (with their own gradients). */
  fallback(): Tensor;
}

/** A contiguous, graph-free view of x for a routine (an alias when x already is one). */
export function dense(x: Tensor): Tensor {
  return noGrad(() => contiguous(x));
}

export function runRoutine(c: RoutineCall): Tensor {
  const routines = c.inputs[0].backend.routines;
  const f = c.forward(routines);
  if (!f) return c.fallback();
  const saved = f.saved.map((s) => wrap(s.storage, s.shape, s.dtype));
  const y = wrap(f.out, c.shape, f.dtype);
  const out = record(
    c.op,
    y,
    c.inputs,
    (g, keep) => {
      const gd = dense(g);
      try {
        const grads = c.backward(routines, keep, f.state, gd);
        return grads.map((s, i) => (s ? wrap(s, c.inputs[i].shape, c.inputs[i].dtype) : null));
      } finally {
        gd.dispose();
      }
    },
    c.saveOutput ? [...c.operands, ...saved, y] : [...c.operands, ...saved],
  );
  for (const t of saved) t.dispose();
  return out;
}
