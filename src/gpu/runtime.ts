/**
 * The WebGPU runtime: one device, a buffer pool, a pipeline cache and command batching.
 *
 * Dispatches are recorded into one command encoder (one compute pass) and submitted when a
 * readback needs the results or the batch reaches MAX_BATCH dispatches. Every dispatch's
 * parameters go into one per-batch uniform arena written just before the submit, so a dispatch
 * costs no buffer creation. Errors are captured per batch with error scopes and thrown, naming
 * the kernels and shapes of that batch, at the next readback: never a silent wrong result.
 */
import { BufferPool, type PoolStats } from './buffer-pool.js';
import { GpuError } from './errors.js';
import { NO_QUIRKS, type AdapterQuirks } from './probe.js';
import type { ProfileRecorder } from './profile.js';

export type BindingKind = 'uniform' | 'read' | 'rw';

/** One WGSL kernel specialization. `key` identifies it in the pipeline cache. */
export interface Kernel {
  /** Human name used in error messages, e.g. 'matmul'. */
  name: string;
  /** Cache key: name plus every specialization that changes the WGSL text. */
  key: string;
  /** WGSL source, built only on a cache miss. */
  code: () => string;
  /** Binding kinds in binding order (binding 0, 1, ...). */
  bindings: readonly BindingKind[];
  entryPoint?: string;
}

interface PipelineEntry {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  error?: GpuError;
}

const MAX_BATCH = 96;
const MAX_BIND_GROUPS = 8192; // cached bind groups; the cache is cleared past this
const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment on every adapter we know of
const ARENA_BYTES = MAX_BATCH * UNIFORM_SLOT * 2;
const TIMING_SLOTS = 128; // timestamps per query set of timeGpu (64 batches)

export interface RuntimeInfo {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
  backend: 'webgpu' | 'webgpu-compat';
  featureLevel: 'core' | 'compatibility';
  features: string[];
  limits: Record<string, number>;
  /** Subgroup sizes the adapter reports, when it has the 'subgroups' feature (lavapipe: 8 and 8). */
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
}

export class GpuRuntime {
  readonly pool: BufferPool;
  private staging: BufferPool;
  private pipelines = new Map<string, PipelineEntry>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchKernels: string[] = [];
  private arenaCpu = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  private arenaGpu: GPUBuffer;
  /**
   * Error checks in flight (pipeline compiles, batches, new buffers): each resolves to its error
   * or null, never rejects (no unhandled rejections), and removes itself when settled, so a loop
   * that never reads back accumulates nothing. Errors wait in `errors` for the next readback.
   */
  private outstanding = new Set<Promise<void>>();
  private errors: { seq: number; error: GpuError }[] = [];
  private checkSeq = 0;
  private deferredError: GpuError | null = null;
  private lostMessage: string | null = null;
  /**
   * Bind groups by (layout, uniform size, buffers). The uniform is bound with a dynamic offset,
   * so a training loop, whose pooled buffers recur, reuses its bind groups instead of creating
   * one per dispatch (the dominant CPU cost of a small dispatch). Dropped when a buffer dies.
   */
  private bindGroups = new Map<string, GPUBindGroup>();
  private groupsOfBuffer = new Map<number, string[]>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  /**
   * Device-side assertions: a kernel that finds its input invalid (a label out of range) writes
   * its assertion's id into this one u32 flag; the next readback copies the flag with its data and
   * throws the assertion's message. No extra round trip, and nothing when no assertion is pending.
   */
  private flag: GPUBuffer | null = null;
  /** Assertions dispatched since the flag was last read: id → message, and message → id. */
  private flagPending = new Map<number, string>();
  private flagIdOf = new Map<string, number>();
  private nextFlagId = 1;
  /**
   * While timeGpu() runs: every batch recorded is bracketed by two timestamps (an empty pass at
   * its start and one at its end, in its own command buffer); slots 2n, 2n+1 of the query sets.
   */
  private timing: { sets: GPUQuerySet[]; used: number } | null = null;
  /** Dispatches recorded since start; useful for tests and benchmarks. */
  dispatchCount = 0;
  /** Kernel choices measured on this adapter (src/backend/webgpu/matmul-tune.ts: the matmul row-block rates). */
  tuning: { matmulRowBlocks?: Record<number, number> } = {};
  /** Set while profile() runs: told of every dispatch, upload, submit and readback (src/gpu/profile.ts). */
  profiler: ProfileRecorder | null = null;
  /** The device's limits, read once (each read of device.limits is a native call). */
  private readonly deviceLimits: GPUSupportedLimits;
  private readonly maxWorkgroups: number;
  /**
   * Whether kernels may use subgroup operations (true when the device has 'subgroups' and a known
   * subgroup size). Tests turn it off to run the workgroup-memory fallbacks on the same device.
   */
  useSubgroups: boolean;
  /**
   * Driver bugs the capability probe found at init (src/gpu/probe.ts); kernels take their
   * work-arounds from it. Tests set it (from a probe with a planted wrong answer) to run them here.
   */
  quirks: AdapterQuirks = NO_QUIRKS;

  constructor(
    readonly device: GPUDevice,
    readonly info: RuntimeInfo,
  ) {
    this.useSubgroups = info.features.includes('subgroups') && (info.subgroupMinSize ?? 0) > 0;
    this.deviceLimits = device.limits;
    this.maxWorkgroups = this.deviceLimits.maxComputeWorkgroupsPerDimension;
    const U = GPUBufferUsage;
    this.pool = new BufferPool(device, U.STORAGE | U.COPY_SRC | U.COPY_DST, 'tensor');
    this.staging = new BufferPool(device, U.MAP_READ | U.COPY_DST, 'readback', 64 * 1024 * 1024);
    this.arenaGpu = device.createBuffer({ size: ARENA_BYTES, usage: U.UNIFORM | U.COPY_DST, label: 'uniform-arena' });
    this.pool.onDestroy = (b) => this.forgetBuffer(b);
    // Out of memory on a new buffer is reported (at the next readback) naming what it was for.
    this.pool.createGuard = (make, size, what) => {
      device.pushErrorScope('out-of-memory');
      const b = make();
      this.track(
        device.popErrorScope().then(
          (err) => (err ? new GpuError(`out of GPU memory allocating ${what || 'a tensor'} (${size} bytes): ${err.message}`) : null),
          () => null,
        ),
      );
      return b;
    };
    device.lost.then((info) => {
      this.lostMessage = `${info.reason}: ${info.message}`;
    });
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.deferredError ??= new GpuError(`uncaptured GPU error: ${ev.error.message}`);
    };
  }

  /**
   * Loop iterations one invocation of a kernel may run in all (Infinity unless the probe found a
   * limit; a margin is kept for the kernel's short fixed loops, such as its reduction tree).
   */
  get loopTrips(): number {
    const limit = this.quirks.loopLimit;
    return limit === null ? Infinity : Math.max(0, limit - 256);
  }

  /** Refuses a dispatch whose invocations would run more loop iterations than the driver completes. */
  checkLoopTrips(kernel: string, trips: number, describe: string): void {
    if (trips > this.loopTrips) {
      throw new GpuError(
        `kernel '${kernel}' ${describe}: needs ${trips} loop iterations per invocation, but this adapter's driver (${this.info.description}) ` +
          `silently stops loops after about ${this.quirks.loopLimit} (docs/ENGINE.md, "Driver bugs"); use a Vulkan adapter (bash scripts/setup.sh) or smaller rows`,
      );
    }
  }

  /** The smallest subgroup size when kernels may use subgroups, else null. */
  get subgroupMin(): number | null {
    return this.useSubgroups ? this.info.subgroupMinSize! : null;
  }

  get limits(): GPUSupportedLimits {
    return this.deviceLimits;
  }

  get lost(): boolean {
    return this.lostMessage !== null;
  }

  private checkAlive(what: string): void {
    if (this.lostMessage !== null) throw new GpuError(`GPU device lost (${this.lostMessage}); cannot ${what}. Call init() again.`);
  }

  /** Largest size a storage binding may have; tensors above it cannot be bound to a kernel. */
  get maxBindingBytes(): number {
    return Math.min(this.deviceLimits.maxStorageBufferBindingSize, this.deviceLimits.maxBufferSize);
  }

  /** A pooled storage buffer of at least `bytes` bytes, checked against the device limit. */
  alloc(bytes: number, what = 'tensor'): GPUBuffer {
    this.checkAlive(`allocate ${what}`);
    const max = this.maxBindingBytes;
    if (bytes > max) {
      throw new GpuError(
        `cannot allocate ${what}: ${bytes} bytes exceeds this adapter's maxStorageBufferBindingSize of ${max} bytes`,
      );
    }
    return this.pool.acquire(Math.max(bytes, 4), what);
  }

  free(buffer: GPUBuffer): void {
    if (this.lostMessage !== null) return;
    this.pool.release(buffer);
  }

  poolStats(): PoolStats {
    return this.pool.stats();
  }

  /** Copies host data into a new pooled buffer. */
  upload(data: ArrayBufferView, what = 'tensor'): GPUBuffer {
    const buffer = this.alloc(data.byteLength, what);
    // writeBuffer runs ahead of the unsubmitted batch; the buffer may have been released by a
    // recorded dispatch, so submit that batch first to keep queue order.
    if (this.encoder) this.flush();
    if (data.byteLength > 0) {
      const padded = data.byteLength % 4 === 0 ? data : padTo4(data);
      this.device.queue.writeBuffer(buffer, 0, padded.buffer, padded.byteOffset, padded.byteLength);
    }
    this.profiler?.event('upload', '(upload)');
    return buffer;
  }

  private bindGroupLayout(kinds: readonly BindingKind[]): GPUBindGroupLayout {
    const key = kinds.join(',');
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        entries: kinds.map((k, i) => ({
          binding: i,
          visibility: GPUShaderStage.COMPUTE,
          buffer: k === 'uniform' ? { type: 'uniform' as const, hasDynamicOffset: true } : { type: k === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
        })),
      });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  private pipelineFor(kernel: Kernel): PipelineEntry {
    let entry = this.pipelines.get(kernel.key);
    if (entry) {
      if (entry.error) throw entry.error;
      return entry;
    }
    const layout = this.bindGroupLayout(kernel.bindings);
    const device = this.device;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: kernel.code(), label: kernel.key });
    const pipeline = device.createComputePipeline({
      label: kernel.key,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: kernel.entryPoint ?? 'main' },
    });
    const newEntry: PipelineEntry = { pipeline, layout };
    const check = device.popErrorScope().then(async (err): Promise<GpuError | null> => {
      if (!err) return null;
      let detail = err.message;
      try {
        const info = await module.getCompilationInfo();
        const msgs = info.messages.filter((m) => m.type === 'error').map((m) => `line ${m.lineNum}:${m.linePos} ${m.message}`);
        if (msgs.length) detail = msgs.join('; ');
      } catch {
        /* keep the validation message */
      }
      newEntry.error = new GpuError(`kernel '${kernel.name}' (${kernel.key}) failed to compile: ${detail}`);
      return newEntry.error;
    }, (e: Error) => new GpuError(`kernel '${kernel.name}' (${kernel.key}): error scope failed: ${e.message}`));
    this.track(check);
    this.pipelines.set(kernel.key, newEntry);
    return newEntry;
  }

  /** Resolves when every pipeline created so far compiled; rejects naming the first that did not. */
  async checkPipelines(): Promise<void> {
    await this.checkErrors();
  }

  /**
   * Records one dispatch. `buffers` bind in order after the uniform (binding 0, when `params`
   * is given). `describe` names the shapes for error messages.
   */
  dispatch(
    kernel: Kernel,
    params: ArrayBuffer | null,
    buffers: GPUBuffer[],
    workgroups: readonly [number, number?, number?],
    describe = '',
  ): void {
    this.checkAlive(`run kernel '${kernel.name}'`);
    const entry = this.pipelineFor(kernel);
    const maxWg = this.maxWorkgroups;
    const [x, y = 1, z = 1] = workgroups;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new GpuError(`kernel '${kernel.name}' ${describe}: ${x}×${y}×${z} workgroups exceed the limit of ${maxWg} per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    if (params && this.arenaUsed + params.byteLength > ARENA_BYTES) this.flush();
    this.beginBatch();
    const group = this.bindGroup(kernel, entry.layout, params ? params.byteLength : 0, buffers);
    const prof = this.profiler;
    const timed = prof !== null && prof.timing;
    if (timed) {
      // Profiling: the dispatch gets a pass of its own, timestamped at its start and end.
      this.pass!.end();
      this.pass = this.encoder!.beginComputePass({ timestampWrites: prof!.nextTimestampWrites() });
    }
    this.pass!.setPipeline(entry.pipeline);
    if (params) {
      this.arenaCpu.set(new Uint8Array(params), this.arenaUsed);
      this.pass!.setBindGroup(0, group, [this.arenaUsed]);
      this.arenaUsed += Math.ceil(params.byteLength / UNIFORM_SLOT) * UNIFORM_SLOT;
    } else {
      this.pass!.setBindGroup(0, group);
    }
    this.pass!.dispatchWorkgroups(x, y, z);
    this.batchKernels.push(describe ? `${kernel.name} ${describe}` : kernel.name);
    this.dispatchCount++;
    if (timed) {
      this.pass!.end();
      this.pass = null;
    }
    prof?.event('kernel', kernel.name, describe, timed);
    if (this.batchKernels.length >= MAX_BATCH) this.flush();
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  /** A cached bind group for these buffers (the uniform, if any, at a dynamic offset into the arena). */
  private bindGroup(kernel: Kernel, layout: GPUBindGroupLayout, uniformBytes: number, buffers: GPUBuffer[]): GPUBindGroup {
    const ids = buffers.map((b) => this.bufferId(b));
    const key = `${kernel.bindings.join(',')}|${uniformBytes}|${ids.join(',')}`;
    let group = this.bindGroups.get(key);
    if (group) return group;
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    if (uniformBytes > 0) entries.push({ binding: binding++, resource: { buffer: this.arenaGpu, offset: 0, size: uniformBytes } });
    for (const b of buffers) entries.push({ binding: binding++, resource: { buffer: b } });
    group = this.device.createBindGroup({ layout, entries });
    if (this.bindGroups.size >= MAX_BIND_GROUPS) {
      this.bindGroups.clear();
      this.groupsOfBuffer.clear();
    }
    this.bindGroups.set(key, group);
    for (const id of new Set(ids)) {
      const list = this.groupsOfBuffer.get(id);
      if (list) list.push(key);
      else this.groupsOfBuffer.set(id, [key]);
    }
    return group;
  }

  /** Drops the bind groups that use a buffer about to be destroyed. */
  private forgetBuffer(b: GPUBuffer): void {
    const id = this.bufferIds.get(b);
    if (id === undefined) return;
    for (const key of this.groupsOfBuffer.get(id) ?? []) this.bindGroups.delete(key);
    this.groupsOfBuffer.delete(id);
  }

  private beginBatch(): void {
    if (this.encoder) {
      if (!this.pass) this.pass = this.encoder.beginComputePass();
      return;
    }
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.encoder = this.device.createCommandEncoder();
    this.stampTiming(true);
    this.pass = this.encoder.beginComputePass();
  }

  /** While timing, an empty pass that writes the batch's begin (or end) timestamp. */
  private stampTiming(begin: boolean): void {
    const tm = this.timing;
    if (!tm || !this.encoder) return;
    if (begin && tm.used === tm.sets.length * TIMING_SLOTS) {
      tm.sets.push(this.device.createQuerySet({ type: 'timestamp', count: TIMING_SLOTS }));
    }
    const slot = begin ? tm.used : tm.used + 1;
    const querySet = tm.sets[Math.floor(slot / TIMING_SLOTS)];
    const index = slot % TIMING_SLOTS;
    this.encoder.beginComputePass({ timestampWrites: begin ? { querySet, beginningOfPassWriteIndex: index } : { querySet, endOfPassWriteIndex: index } }).end();
    if (!begin) tm.used += 2;
  }

  /** Records a buffer-to-buffer copy in the current batch. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkAlive('copy a buffer');
    this.beginBatch();
    this.pass!.end();
    this.pass = null;
    const prof = this.profiler;
    const stamps = prof?.timing ? prof.nextTimestampWrites() : undefined;
    // Profiling: empty passes stamp the copy's start (the end of the first) and end (the start of the second).
    if (stamps) this.encoder!.beginComputePass({ timestampWrites: { querySet: stamps.querySet, endOfPassWriteIndex: stamps.beginningOfPassWriteIndex } }).end();
    this.encoder!.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    if (stamps) this.encoder!.beginComputePass({ timestampWrites: { querySet: stamps.querySet, beginningOfPassWriteIndex: stamps.endOfPassWriteIndex } }).end();
    this.batchKernels.push(`copy ${bytes} bytes`);
    prof?.event('copy', '(copy)', `${bytes} bytes`, !!stamps);
  }

  /** Submits the recorded batch. */
  flush(): void {
    if (!this.encoder) {
      this.pool.destroyRetired(); // nothing recorded can still use them
      return;
    }
    if (this.pass) this.pass.end();
    this.pass = null;
    this.stampTiming(false);
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arenaGpu, 0, this.arenaCpu.buffer, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    // Destroying after the submit is safe: WebGPU keeps a buffer alive for work already queued.
    this.pool.destroyRetired();
    const kernels = this.batchKernels;
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.track(
      Promise.all([validation, oom]).then(
        ([v, o]) => {
          const err = v ?? o;
          if (!err) return null;
          const kind = o && !v ? 'out of GPU memory' : 'GPU validation error';
          return new GpuError(`${kind} in the batch running [${summarize(kernels)}]: ${err.message}`);
        },
        (e: Error) => new GpuError(`GPU error scope failed in the batch running [${summarize(kernels)}]: ${e.message}`),
      ),
    );
    this.encoder = null;
    this.batchKernels = [];
    this.arenaUsed = 0;
    this.profiler?.event('submit', '(submit)');
  }

  /**
   * A device-side assertion for a kernel about to be dispatched: bind `buffer` (read_write, a u32)
   * and write `id` into it when the check fails; the next read() or sync() throws `message`.
   */
  assertion(message: string): { buffer: GPUBuffer; id: number } {
    this.flag ??= this.device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: 'assertion flag' });
    let id = this.flagIdOf.get(message);
    if (id === undefined) {
      id = this.nextFlagId++;
      this.flagIdOf.set(message, id);
      this.flagPending.set(id, message);
    }
    return { buffer: this.flag, id };
  }

  /** Reads `bytes` bytes of `buffer` back to the host after all recorded work. */
  async read(buffer: GPUBuffer, bytes: number, byteOffset = 0): Promise<ArrayBuffer> {
    this.checkAlive('read a tensor');
    const size = Math.ceil(bytes / 4) * 4;
    // Pending assertions: the flag is copied out with the data, after every kernel that could set it.
    const checks = this.flagPending;
    const pending = checks.size > 0;
    if (pending) {
      this.flagPending = new Map();
      this.flagIdOf = new Map();
    }
    if (size === 0 && !pending) {
      this.flush();
      await this.checkErrors();
      return new ArrayBuffer(0);
    }
    const total = size + (pending ? 4 : 0);
    const staging = this.staging.acquire(total);
    if (size > 0) this.copy(buffer, byteOffset, staging, 0, size);
    if (pending) this.copy(this.flag!, 0, staging, size, 4);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, total);
    } catch (e) {
      // A staging buffer whose mapping failed is not reused.
      this.staging.discard(staging);
      this.checkAlive('read a tensor');
      await this.checkErrors();
      throw new GpuError(`reading a tensor back failed: ${(e as Error).message}`);
    }
    const mapped = staging.getMappedRange(0, total);
    const out = mapped.slice(0, bytes);
    const flagValue = pending ? new Uint32Array(mapped, size, 1)[0] : 0;
    staging.unmap();
    this.staging.release(staging);
    await this.checkErrors();
    this.profiler?.event('readback', '(readback)');
    if (flagValue !== 0) {
      this.device.queue.writeBuffer(this.flag!, 0, new Uint32Array([0]));
      throw new GpuError(checks.get(flagValue) ?? `a device-side check failed (assertion ${flagValue})`);
    }
    return out;
  }

  /**
   * GPU time in milliseconds of the work `fn` records; null where the device lacks
   * 'timestamp-query'. Earlier work is finished first; then every batch recorded until `fn`
   * settles gets a timestamp at its start and at its end, inside its own command buffer, and the
   * result is the total length of the union of those intervals: the time the queue spent executing
   * `fn`'s work, without the host's recording, submit latency or the idle gaps between batches
   * (wall-clock time counts those). Resolution is the adapter's timestamp period (Dawn quantizes
   * timestamps to 2^16 ns by default, about 0.066 ms per batch), so time enough work. Not reentrant.
   */
  async timeGpu(fn: () => unknown): Promise<number | null> {
    if (!this.device.features.has('timestamp-query')) return null;
    this.checkAlive('time GPU work');
    if (this.timing) throw new GpuError('timeGpu: calls cannot nest or overlap');
    this.flush();
    await this.device.queue.onSubmittedWorkDone(); // earlier work must not overlap the first stamp
    const tm: { sets: GPUQuerySet[]; used: number } = { sets: [], used: 0 };
    this.timing = tm;
    const buffers: GPUBuffer[] = [];
    try {
      try {
        await fn();
      } finally {
        try {
          this.flush(); // the last batch's end stamp, also when fn threw
        } finally {
          this.timing = null;
        }
      }
      if (tm.used === 0) return 0;
      const bytes = tm.used * 8;
      const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
      buffers.push(readback);
      const e = this.device.createCommandEncoder();
      tm.sets.forEach((set, n) => {
        const count = Math.min(TIMING_SLOTS, tm.used - n * TIMING_SLOTS);
        const resolved = this.device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
        buffers.push(resolved);
        e.resolveQuerySet(set, 0, count, resolved, 0);
        e.copyBufferToBuffer(resolved, 0, readback, n * TIMING_SLOTS * 8, count * 8);
      });
      this.device.queue.submit([e.finish()]);
      await readback.mapAsync(GPUMapMode.READ);
      const stamps = new BigInt64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      await this.checkErrors();
      const spans: [bigint, bigint][] = [];
      for (let n = 0; n < tm.used; n += 2) spans.push([stamps[n], stamps[n + 1] > stamps[n] ? stamps[n + 1] : stamps[n]]);
      spans.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      let total = 0n;
      let [lo, hi] = spans[0];
      for (const [a, b] of spans.slice(1)) {
        if (a > hi) {
          total += hi - lo;
          lo = a;
        }
        if (b > hi) hi = b;
      }
      total += hi - lo;
      return Number(total) / 1e6;
    } finally {
      for (const set of tm.sets) set.destroy();
      for (const b of buffers) b.destroy();
    }
  }

  /** Waits for all submitted work and throws the first error it raised. */
  async sync(): Promise<void> {
    if (this.flagPending.size) {
      await this.read(this.flag!, 0);
      return;
    }
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.checkAlive('finish GPU work');
    await this.checkErrors();
    this.profiler?.event('sync', '(sync)');
  }

  /** Registers an error check; see `outstanding`. */
  private track(check: Promise<GpuError | null>): void {
    const seq = this.checkSeq++;
    const done: Promise<void> = check.then((error) => {
      if (error) this.errors.push({ seq, error });
      this.outstanding.delete(done);
    });
    this.outstanding.add(done);
  }

  private async checkErrors(): Promise<void> {
    await Promise.all([...this.outstanding]);
    if (this.errors.length) {
      // The earliest recorded first, so a kernel's compile error is reported before the batch it broke.
      const first = this.errors.reduce((a, b) => (b.seq < a.seq ? b : a));
      this.errors = [];
      throw first.error;
    }
    if (this.deferredError) {
      const e = this.deferredError;
      this.deferredError = null;
      throw e;
    }
  }

  destroy(): void {
    this.encoder = null;
    this.pass = null;
    this.pool.trim();
    this.staging.trim();
    this.device.destroy();
  }
}

function summarize(kernels: string[]): string {
  if (kernels.length <= 12) return kernels.join('; ');
  return [...kernels.slice(0, 6), `… ${kernels.length - 12} more …`, ...kernels.slice(-6)].join('; ');
}

function padTo4(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

/** Workgroup counts for `threads` threads in groups of `size`, folded into 2-D past the per-dimension limit. */
export function grid1D(threads: number, size: number, maxPerDim = 65535): [number, number] {
  const groups = Math.ceil(threads / size);
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}
