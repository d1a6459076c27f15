/**
 * Reverse-mode autograd and memory scopes.
 *
 * Each op that involves a tensor requiring grad records a GradNode on its output: the inputs and
 * a backward function mapping the output's gradient to the inputs' gradients (written with the
 * same ops, so it runs on any backend). backward() sorts the graph topologically once (a shared
 * subgraph is visited once), walks it in reverse, accumulates leaf gradients into `.grad`, and
 * releases each node's saved tensors as soon as that node is done.
 *
 * Memory: every tensor made inside tidy(fn) that fn does not return is disposed when fn ends.
 * Tensors an op saves for its backward are internal handles sharing the storage (an internal
 * reference count, never the user's business), so disposing or tidying the user's tensors
 * cannot break a pending backward. A graph lives until backward() frees it (node by node), or
 * until its output is disposed with no other node consuming it (releaseGraph, upstream as far
 * as nothing else holds it): a forward pass that is never backpropagated leaks nothing.
 */
import type { Tensor } from './tensor.js';

export interface GradNode {
  name: string;
  inputs: readonly Tensor[];
  /** Output gradient -> one gradient per input (null where none flows). Null once freed. */
  backward: ((g: Tensor) => (Tensor | null)[]) | null;
  saved: Tensor[];
}

let noGradDepth = 0;

export function isGradEnabled(): boolean {
  return noGradDepth === 0;
}

/** Runs fn without recording a graph (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  noGradDepth++;
  try {
    const r = fn();
    if (r instanceof Promise) {
      return r.finally(() => noGradDepth--) as T;
    }
    noGradDepth--;
    return r;
  } catch (e) {
    noGradDepth--;
    throw e;
  }
}

// ---- scopes ---------------------------------------------------------------------------------

const scopes: Set<Tensor>[] = [];

/** Called by the Tensor constructor: the innermost tidy() owns the new tensor. */
export function trackTensor(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Takes `t` out of every open scope so it outlives them (like tf.keep). Returns t. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collectTensors(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 6 || value === null || typeof value !== 'object') return;
  if ((value as { __isTensor?: boolean }).__isTensor) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out, depth + 1);
}

/**
 * Runs fn and disposes every tensor it created that is not part of its result (tensors in the
 * returned value, arrays or plain objects are kept and handed to the enclosing scope).
 * fn must be synchronous; for async work use `await scope(async () => ...)`.
 */
export function tidy<T>(fn: () => T): T {
  scopes.push(new Set());
  let result: T;
  try {
    result = fn();
  } catch (e) {
    disposeScope(scopes.pop()!, new Set());
    throw e;
  }
  if (result instanceof Promise) {
    scopes.pop();
    throw new Error('tidy(fn) got a Promise: fn must be synchronous; use `await scope(async () => ...)` for async code');
  }
  const keepSet = new Set<Tensor>();
  collectTensors(result, keepSet);
  const own = scopes.pop()!;
  disposeScope(own, keepSet);
  handToParent(own, keepSet);
  return result;
}

/** Async variant of tidy: tensors created while fn runs (and not returned) are disposed after. */
export async function scope<T>(fn: () => Promise<T>): Promise<T> {
  const own = new Set<Tensor>();
  scopes.push(own);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    removeScope(own);
    disposeScope(own, new Set());
    throw e;
  }
  removeScope(own);
  const keepSet = new Set<Tensor>();
  collectTensors(result, keepSet);
  disposeScope(own, keepSet);
  handToParent(own, keepSet);
  return result;
}

/** Returned tensors the finished scope owned now belong to the enclosing one (tensors made outside stay where they were). */
function handToParent(own: Set<Tensor>, keepSet: Set<Tensor>): void {
  for (const t of keepSet) if (own.has(t)) trackTensor(t);
}

function removeScope(s: Set<Tensor>): void {
  const i = scopes.lastIndexOf(s);
  if (i >= 0) scopes.splice(i, 1);
}

/**
 * Newest first: the pool hands buffers out last-in first-out, so a repeated workload (a training
 * step, a loop of small ops) gets the same buffers in the same order each time and reuses its
 * cached bind groups instead of creating new ones (createBindGroup is most of a small op's cost).
 */
function disposeScope(s: Set<Tensor>, keepSet: Set<Tensor>): void {
  const list = [...s];
  for (let i = list.length - 1; i >= 0; i--) if (!keepSet.has(list[i])) list[i].dispose();
}

// ---- graph recording ------------------------------------------------------------------------

/**
 * Attaches a backward to `out` when grad is enabled and some input requires it. `save` lists the
 * tensors backward reads; they are retained as internal handles until the node is freed.
 */
export function record(
  name: string,
  out: Tensor,
  inputs: readonly Tensor[],
  backward: (g: Tensor, saved: Tensor[]) => (Tensor | null)[],
  save: readonly Tensor[] = [],
): Tensor {
  if (noGradDepth > 0 || !inputs.some((t) => t.requiresGrad)) return out;
  const saved = save.map((t) => t.handle());
  out.requiresGrad = true;
  out.node = { name, inputs: [...inputs], saved, backward: (g) => backward(g, saved) };
  for (const t of inputs) t.consumers++;
  return out;
}

export interface BackwardOptions {
  /** Keep the graph (and its saved tensors) for another backward through it. */
  retainGraph?: boolean;
}

/** Topological order of the tensors requiring grad that `root` depends on, inputs before outputs. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * `seed` is owned (disposed) by the backward pass. Every gradient in flight is a distinct tensor
 * object owned by this pass: a rule that passes g through (add, views) or returns one tensor for
 * two inputs gets a fresh handle on the same storage, so disposing one never kills another.
 */
export function runBackward(root: Tensor, seed: Tensor, opts: BackwardOptions, add: (a: Tensor, b: Tensor) => Tensor, materialize: (t: Tensor) => Tensor): void {
  const order = topoOrder(root);
  for (const t of order) {
    if (t.node && !t.node.backward) {
      throw new Error(`backward through '${t.node.name}' a second time: its graph was freed; pass { retainGraph: true } to the first backward()`);
    }
  }
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, seed);
  noGradDepth++;
  scopes.push(new Set()); // temporaries of the backward pass
  const temp = scopes[scopes.length - 1];
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      grads.delete(t);
      const node = t.node;
      if (!g) {
        // No gradient reached this node: its saved tensors are still released.
        if (node && !opts.retainGraph) freeNode(node);
        continue;
      }
      if (!node) {
        // A leaf: accumulate into .grad, which outlives every scope.
        const prev = t.grad;
        const next = prev ? add(prev, g) : materialize(g);
        keep(next);
        if (prev) prev.dispose();
        t.grad = next;
        if (next !== g) g.dispose();
        continue;
      }
      const backward = node.backward!;
      // Each node's temporaries die with it; only the input gradients leave the tidy.
      const raw = tidy(() => backward(g));
      const seen = new Set<Tensor>([g, ...node.saved]);
      const inputGrads = raw.map((gi) => {
        if (!gi) return null;
        const own = seen.has(gi) ? gi.view(gi.shape, gi.strides, gi.offset) : gi;
        seen.add(own);
        return own;
      });
      g.dispose();
      node.inputs.forEach((inp, i) => {
        const gi = inputGrads[i];
        if (!gi) return;
        if (!inp.requiresGrad) {
          gi.dispose();
          return;
        }
        if (gi.shape.length !== inp.shape.length || gi.shape.some((d, j) => d !== inp.shape[j])) {
          throw new Error(`internal: gradient of '${node.name}' input ${i} has shape [${gi.shape}] but the input is [${inp.shape}]`);
        }
        const prev = grads.get(inp);
        if (prev) {
          grads.set(inp, add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else {
          grads.set(inp, gi);
        }
      });
      for (let j = node.inputs.length; j < inputGrads.length; j++) inputGrads[j]?.dispose();
      if (!opts.retainGraph) freeNode(node);
    }
  } finally {
    noGradDepth--;
    removeScope(temp);
    for (const g of grads.values()) g.dispose();
    for (const t of temp) t.dispose();
  }
}

/** Releases a node's saved tensors; a later backward through it throws. */
export function freeNode(node: GradNode): void {
  if (!node.backward) return; // already freed
  for (const s of node.saved) s.dispose();
  node.saved = [];
  node.backward = null;
  for (const t of node.inputs) t.consumers--;
}

/**
 * Frees `node` and, upstream, every node whose output tensor is disposed and no longer consumed:
 * a graph nobody can backpropagate any more (its root disposed without backward()) gives its
 * saved tensors back at once instead of holding them forever.
 */
export function releaseGraph(node: GradNode): void {
  const stack = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (!n.backward) continue;
    freeNode(n);
    for (const t of n.inputs) if (t.consumers === 0 && t.isDisposed && t.node) stack.push(t.node);
  }
}
