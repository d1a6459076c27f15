/**
 * Module: the base class of every layer and model (PyTorch's nn.Module, camelCased).
 *
 * A module owns named parameters (trainable leaf tensors), named buffers (fixed tensors such as
 * ETF prototypes or adjacency matrices; persistent ones go into the state dict) and named
 * sub-modules. Names compose with dots: `stage1.spatial.q.weight`.
 *
 * Pattern for subclasses (fields keep pointing at the registered tensors; `to()` and
 * `loadStateDict()` keep them valid):
 *
 * ```ts
 * class Affine extends Module {
 *   weight: Tensor;
 *   constructor(n: number) {
 *     super();
 *     this.weight = this.registerParameter('weight', ones([n], paramOptions()));
 *   }
 *   forward(x: Tensor) { return x.mul(this.weight); }
 * }
 * ```
 *
 * Parameters are written in place (loadStateDict, optimizers): a tensor object registered once
 * stays the same object for the life of the module, so optimizers and fields never go stale.
 * The exception is `to(backend, dtype)`, which makes new tensors and re-points the fields.
 */
import { Tensor } from '../autograd/tensor.js';
import type { Backend, DType, TypedArray } from '../backend/backend.js';
import { tensor } from '../autograd/ops/creation.js';

/** A tensor's values on the host, as a state-dict entry may carry them (e.g. from safetensors). */
export interface HostArray {
  data: ArrayLike<number> & { length: number };
  shape: readonly number[];
}

export type StateDict = Record<string, Tensor>;
export type StateDictInput = Record<string, Tensor | HostArray>;

export interface LoadStateDictResult {
  /** Names the module has but the state dict lacks. */
  missing: string[];
  /** Names the state dict has but the module lacks. */
  unexpected: string[];
  /** Names present in both with different shapes. */
  mismatched: { name: string; expected: number[]; got: number[] }[];
  /** Names loaded. */
  loaded: string[];
}

export class StateDictError extends Error {
  constructor(
    message: string,
    readonly result: LoadStateDictResult,
  ) {
    super(message);
    this.name = 'StateDictError';
  }
}

interface BufferEntry {
  t: Tensor;
  persistent: boolean;
}

export abstract class Module {
  /** True in training mode (dropout active, modality dropping, ...); see train()/eval(). */
  training = true;
  private readonly params_ = new Map<string, Tensor>();
  private readonly buffers_ = new Map<string, BufferEntry>();
  private readonly modules_ = new Map<string, Module>();

  /** The computation. Subclasses implement it with whatever signature they need. */
  abstract forward(...args: any[]): any;

  // ---- registration ---------------------------------------------------------------------------

  /** Registers a trainable tensor under `name` (marks it requiresGrad) and returns it. */
  registerParameter(name: string, t: Tensor): Tensor {
    checkName(name, this);
    if (this.modules_.has(name) || this.buffers_.has(name)) throw new Error(`${this.constructor.name}: '${name}' is already a module or buffer`);
    if (t.dtype === 'int32') throw new Error(`${this.constructor.name}: parameter '${name}' must be a float tensor, got ${t.describe()}`);
    t.requiresGrad_(true);
    t.name ??= name;
    this.params_.set(name, t);
    return t;
  }

  /** Registers a fixed tensor (no gradient). Persistent buffers are saved in the state dict. */
  registerBuffer(name: string, t: Tensor, persistent = true): Tensor {
    checkName(name, this);
    if (this.modules_.has(name) || this.params_.has(name)) throw new Error(`${this.constructor.name}: '${name}' is already a module or parameter`);
    t.name ??= name;
    this.buffers_.set(name, { t, persistent });
    return t;
  }

  /** Registers a sub-module under `name` and returns it. */
  registerModule<M extends Module>(name: string, m: M): M {
    checkName(name, this);
    if (this.params_.has(name) || this.buffers_.has(name)) throw new Error(`${this.constructor.name}: '${name}' is already a parameter or buffer`);
    if (!(m instanceof Module)) throw new Error(`${this.constructor.name}: registerModule('${name}') needs a Module`);
    this.modules_.set(name, m);
    return m;
  }

  // ---- traversal -------------------------------------------------------------------------------

  /** Direct sub-modules. */
  children(): Module[] {
    return [...this.modules_.values()];
  }

  namedChildren(): [string, Module][] {
    return [...this.modules_.entries()];
  }

  /** Every module in the tree (this first), with dotted names ('' for this). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.modules_) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter in the tree with its dotted name (a tensor shared by two modules is listed once). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [n, t] of m.params_) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([mp ? `${mp}.${n}` : n, t]);
      }
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters that currently require grad (not frozen). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((t) => t.requiresGrad);
  }

  namedBuffers(prefix = '', persistentOnly = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [n, b] of m.buffers_) if (!persistentOnly || b.persistent) out.push([mp ? `${mp}.${n}` : n, b.t]);
    }
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /** Calls fn on every module of the tree (this included), children first. Returns this. */
  apply(fn: (m: Module) => void): this {
    for (const m of this.modules_.values()) m.apply(fn);
    fn(this);
    return this;
  }

  /** Own (non-recursive) parameter by local name. */
  getParameter(name: string): Tensor | undefined {
    return this.params_.get(name);
  }

  /** Own (non-recursive) buffer by local name. */
  getBuffer(name: string): Tensor | undefined {
    return this.buffers_.get(name)?.t;
  }

  /** Own sub-module by local name. */
  getModule(name: string): Module | undefined {
    return this.modules_.get(name);
  }

  /** Sets each parameter's and persistent buffer's `name` to its full dotted path (shows in errors). */
  nameTensors(): this {
    for (const [n, t] of this.namedParameters()) t.name = n;
    for (const [n, t] of this.namedBuffers()) t.name = n;
    return this;
  }

  // ---- modes -----------------------------------------------------------------------------------

  /** Training mode on (or off with mode = false) for the whole tree. Returns this. */
  train(mode = true): this {
    this.apply((m) => {
      m.training = mode;
    });
    return this;
  }

  /** Evaluation mode (dropout off). Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Stops gradients to every parameter of this tree (they stay in the state dict). */
  freeze(): this {
    for (const p of this.parameters()) p.requiresGrad = false;
    return this;
  }

  unfreeze(): this {
    for (const p of this.parameters()) p.requiresGrad = true;
    return this;
  }

  /** True when no parameter of this tree requires grad. */
  get frozen(): boolean {
    return this.parameters().every((p) => !p.requiresGrad);
  }

  /** Number of scalar parameters (trainable only with `trainableOnly`). */
  paramCount(opts: { trainableOnly?: boolean } = {}): number {
    return (opts.trainableOnly ? this.trainableParameters() : this.parameters()).reduce((s, t) => s + t.size, 0);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  // ---- state -----------------------------------------------------------------------------------

  /** Parameters and persistent buffers by dotted name (the live tensors, not copies). */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [n, t] of this.namedParameters()) sd[n] = t;
    for (const [n, t] of this.namedBuffers('', true)) sd[n] = t;
    return sd;
  }

  /**
   * Copies values into the parameters and persistent buffers, in place (tensor objects are kept,
   * so optimizers holding them stay valid). Entries are Tensors or host arrays `{ data, shape }`.
   * strict (default): any missing, unexpected or differently-shaped tensor throws a
   * StateDictError listing all of them and nothing is written. Not strict: loads what matches
   * and returns the lists.
   */
  async loadStateDict(sd: StateDictInput, opts: { strict?: boolean } = {}): Promise<LoadStateDictResult> {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const result: LoadStateDictResult = { missing: [], unexpected: [], mismatched: [], loaded: [] };
    for (const name of Object.keys(own)) if (!(name in sd)) result.missing.push(name);
    for (const name of Object.keys(sd)) if (!(name in own)) result.unexpected.push(name);
    const writes: [Tensor, Tensor | HostArray][] = [];
    for (const [name, target] of Object.entries(own)) {
      const src = sd[name];
      if (!src) continue;
      const shape = [...src.shape];
      if (shape.length !== target.rank || shape.some((d, i) => d !== target.shape[i])) {
        result.mismatched.push({ name, expected: [...target.shape], got: shape });
        continue;
      }
      writes.push([target, src]);
      result.loaded.push(name);
    }
    const bad = result.missing.length + result.unexpected.length + result.mismatched.length;
    if (strict && bad > 0) throw new StateDictError(`loadStateDict: the state dict does not match this ${this.constructor.name}:\n${describeStateDictDiff(result)}`, result);
    for (const [target, src] of writes) {
      const data = src instanceof Tensor ? await src.data() : src.data;
      writeTensor(target, data);
    }
    return result;
  }

  /**
   * Moves every parameter and buffer to another backend and/or dtype ('cpu' + 'float64' for
   * gradient checks). Makes new tensors and re-points the fields that held the old ones;
   * optimizers built before must be rebuilt. Returns this.
   */
  async to(target: 'cpu' | 'default' | Backend, dtype?: DType): Promise<this> {
    for (const m of this.modules()) {
      for (const [n, t] of [...m.params_]) {
        const nt = await convert(t, target, dtype ?? (t.dtype === 'float64' && target !== 'cpu' ? 'float32' : t.dtype));
        nt.requiresGrad = t.requiresGrad;
        nt.name = t.name;
        m.params_.set(n, nt);
        repointFields(m, t, nt);
        t.dispose();
      }
      for (const [n, b] of [...m.buffers_]) {
        const keepDtype = b.t.dtype === 'int32' ? 'int32' : dtype ?? (b.t.dtype === 'float64' && target !== 'cpu' ? 'float32' : b.t.dtype);
        const nt = await convert(b.t, target, keepDtype);
        nt.name = b.t.name;
        m.buffers_.set(n, { t: nt, persistent: b.persistent });
        repointFields(m, b.t, nt);
        b.t.dispose();
      }
      m.onMoved();
    }
    return this;
  }

  /** Hook for subclasses that cache derived tensors: called after to(). */
  protected onMoved(): void {}

  /** Frees every parameter and buffer (the module is unusable afterwards). */
  dispose(): void {
    for (const t of this.parameters()) t.dispose();
    for (const t of this.buffers()) t.dispose();
  }

  /** One line per module: name, class, own parameter count. */
  toString(): string {
    return this.namedModules()
      .map(([n, m]) => {
        const own = [...m.params_.values()].reduce((s, t) => s + t.size, 0);
        return `${n || '(root)'}: ${m.constructor.name}${own ? ` (${own} params)` : ''}`;
      })
      .join('\n');
  }
}

/** A list of modules registered as '0', '1', ... (PyTorch's nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];
  constructor(items: M[] = []) {
    super();
    for (const m of items) this.push(m);
  }
  push(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    return this.items[i];
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
  forward(): never {
    throw new Error('ModuleList has no forward(); call its items');
  }
}

/** A map of modules by name (PyTorch's nn.ModuleDict). */
export class ModuleDict<M extends Module = Module> extends Module {
  readonly items = new Map<string, M>();
  constructor(items: Record<string, M> = {}) {
    super();
    for (const [k, m] of Object.entries(items)) this.set(k, m);
  }
  set(name: string, m: M): this {
    this.registerModule(name, m);
    this.items.set(name, m);
    return this;
  }
  get(name: string): M | undefined {
    return this.items.get(name);
  }
  has(name: string): boolean {
    return this.items.has(name);
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
  forward(): never {
    throw new Error('ModuleDict has no forward(); call its items');
  }
}

// ---- helpers -------------------------------------------------------------------------------------

function checkName(name: string, m: Module): void {
  if (!name || name.includes('.')) throw new Error(`${m.constructor.name}: invalid name '${name}' (non-empty, no dots)`);
}

function repointFields(m: Module, from: Tensor, to: Tensor): void {
  const rec = m as unknown as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (rec[k] === from) rec[k] = to;
}

async function convert(t: Tensor, target: 'cpu' | 'default' | Backend, dtype: DType): Promise<Tensor> {
  const data = await t.data();
  return tensor(data as TypedArray, [...t.shape], { backend: target, dtype });
}

/**
 * Overwrites a tensor's values in place with host data (row-major, t.size values). The tensor
 * must be dense (parameters and buffers are). Works on both backends.
 */
export function writeTensor(t: Tensor, data: ArrayLike<number>): void {
  t.assertLive('write');
  if (data.length !== t.size) throw new Error(`writeTensor: ${data.length} values for ${t.describe()}`);
  if (!t.isContiguous && !(t.offset >= 0 && isDense(t))) throw new Error(`writeTensor: ${t.describe()} is not a dense tensor`);
  t.backend.write(t, data);
}

function isDense(t: Tensor): boolean {
  let acc = 1;
  for (let i = t.rank - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.strides[i] !== acc) return false;
    acc *= t.shape[i];
  }
  return true;
}

/** Human-readable list of the differences in a LoadStateDictResult. */
export function describeStateDictDiff(r: LoadStateDictResult): string {
  const lines: string[] = [];
  for (const m of r.mismatched) lines.push(`  shape differs: ${m.name}: model [${m.expected.join(', ')}], file [${m.got.join(', ')}]`);
  for (const n of r.missing) lines.push(`  missing from file: ${n}`);
  for (const n of r.unexpected) lines.push(`  not in model: ${n}`);
  return lines.join('\n') || '  (no differences)';
}
