/** Helpers shared by the functional ops: wrapping storage, broadcasting, axes, checks. */
import { contiguousStrides, type Backend, type DType, type Storage, type View } from '../../backend/backend.js';
import { ShapeError, shapeStr } from '../../gpu/errors.js';
import { Tensor } from '../tensor.js';

export function wrap(storage: Storage, shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(storage, [...shape], dtype);
}

/** Checks inputs are live and on one backend; returns that backend. */
export function backendOf(op: string, ...ts: Tensor[]): Backend {
  for (const t of ts) t.assertLive(op);
  const b = ts[0].backend;
  for (const t of ts) {
    if (t.backend !== b) throw new ShapeError(`${op}: tensors on different backends (${b.name} and ${t.backend.name}); move one with .to()`);
  }
  return b;
}

export function requireFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype === 'int32') throw new ShapeError(`${op} needs float tensors, got int32 ${shapeStr(t.shape)}; convert with .toFloat()`);
  }
}

export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw new ShapeError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function normAxes(axes: number | number[] | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = (Array.isArray(axes) ? axes : [axes]).map((a) => normAxis(a, rank, op));
  if (new Set(list).size !== list.length) throw new ShapeError(`${op}: repeated axis in [${axes}]`);
  return list.sort((a, b) => a - b);
}

export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) throw new ShapeError(`${op}: shapes ${shapes.map(shapeStr).join(' and ')} cannot be broadcast together`);
      d = v;
    }
    out.push(d);
  }
  return out;
}

/** A stride-0 view of t broadcast to `shape`: a plain View for a backend call (no copy, no graph, no ownership). */
export function broadcastView(t: View, shape: readonly number[]): View {
  if (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t;
  const lead = shape.length - t.shape.length;
  const strides = shape.map((d, i) => {
    const j = i - lead;
    if (j < 0 || t.shape[j] === 1) return 0;
    return t.strides[j];
  });
  return { storage: t.storage, shape, strides, offset: t.offset, dtype: t.dtype };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export { contiguousStrides };
