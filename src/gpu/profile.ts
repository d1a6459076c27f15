/**
 * The profiler: `const p = await profile(async () => …)` runs the function with the GPU runtime
 * recording every event, and returns one row per kernel and shape with its calls, its GPU time
 * (timestamp queries, where the adapter has 'timestamp-query'), its host time and its share.
 *
 * Host time: the runtime reports an event at the end of each dispatch it records, each upload,
 * each submit (flush), readback and sync. The host time between two events belongs to the second:
 * a kernel's row holds the JavaScript that led to its dispatch (tensor creation, autograd
 * bookkeeping, kernel lookup, parameter packing, bind group, encoding); a readback's row holds the
 * wait for the GPU. The rows therefore sum to the profiled function's wall time (the time after
 * the last event is its own row, '(host)').
 *
 * GPU time: while profiling, each dispatch runs in a compute pass of its own whose start and end
 * write timestamps (a buffer copy sits between two empty stamped passes: '(copy)' rows); a row's
 * GPU time is the sum of its spans. Resolution is the
 * adapter's timestamp period (Dawn quantizes to 2^16 ns ≈ 0.066 ms by default, unbiased on
 * average over many calls). One pass per dispatch changes what the driver may overlap, so the
 * profiled run is slower than an unprofiled one; shares are what to read.
 *
 * `p.trace()` is a Chrome trace (JSON trace events; open in https://ui.perfetto.dev or
 * chrome://tracing): host spans on one track, GPU spans on another (the GPU clock aligned to the
 * host's at the first submit, so the offset between the tracks is approximate).
 */
import { gpuRuntime } from './init.js';
import { GpuError } from './errors.js';

/** What a row counts: a kernel's dispatches, or one of the runtime's host events. */
export type ProfileRowKind = 'kernel' | 'copy' | 'upload' | 'submit' | 'readback' | 'sync' | 'host';

export interface ProfileRow {
  /** Kernel name (the op for elementwise maps, e.g. 'add'), or '(upload)', '(readback)', ... */
  name: string;
  /** Shape key: the shapes the dispatch named ('' for host events). */
  shape: string;
  kind: ProfileRowKind;
  calls: number;
  /** Summed GPU time in ms of this row's timed dispatches (or buffer copies); null where the adapter has no timestamps, or for host events. */
  gpuMs: number | null;
  /** How many of `calls` were timed on the GPU (all of them unless the run passed `options.limit` dispatches). */
  gpuCalls: number;
  /** Host time in ms attributed to this row (see the module comment). */
  hostMs: number;
  /** This row's share of the total: of GPU time where timestamps exist, else of host time. */
  share: number;
}

export interface ChromeTraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

export interface ProfileResult<T> {
  /** What the profiled function returned. */
  result: T;
  /** Rows, largest share first. */
  rows: ProfileRow[];
  /** Dispatches recorded while profiling. */
  dispatches: number;
  /** Wall time of the profiled function in ms (= the sum of the rows' host times). */
  wallMs: number;
  /** Sum of every dispatch's GPU time in ms (= the sum of the rows' GPU times), or null without timestamps. */
  gpuMs: number | null;
  /** A text table of the rows (the top `limit`). */
  table(limit?: number): string;
  /** The run as a Chrome trace: `JSON.stringify(p.trace())` to a .json file. */
  trace(): { traceEvents: ChromeTraceEvent[]; displayTimeUnit: 'ms' };
}

export interface ProfileOptions {
  /**
   * Events kept for the trace, and dispatches timed on the GPU (default 50,000): a long run
   * (`dualalign train --profile`) keeps counting calls and host time past it, in bounded memory.
   */
  limit?: number;
}

interface Span {
  row: string;
  start: number; // host ms (performance.now())
  end: number;
  /** For dispatches: index into the GPU timestamps, else -1. */
  gpuSlot: number;
}

const SLOTS_PER_SET = 2048; // timestamps per query set (1024 dispatches)

/**
 * Recorder the runtime calls while a profile is running (GpuRuntime.profiler). One per profile()
 * call; never nested.
 */
export class ProfileRecorder {
  /** The first `limit` events (the trace, and the GPU times' slots). */
  readonly spans: Span[] = [];
  /** Every event, aggregated per row. */
  readonly rowInfo = new Map<string, { name: string; shape: string; kind: ProfileRowKind; calls: number; hostMs: number }>();
  events = 0;
  private last: number;
  readonly started: number;
  /** Host time of the first submit while profiling (aligns the GPU track in the trace). */
  firstSubmit: number | null = null;
  private sets: GPUQuerySet[] = [];
  private slots = 0;

  readonly timestamps: boolean;

  constructor(
    private readonly device: GPUDevice | null,
    readonly limit = 50_000,
  ) {
    this.started = this.last = performance.now();
    this.timestamps = !!device && device.features.has('timestamp-query');
  }

  /** Host time of the latest event. */
  get lastEvent(): number {
    return this.last;
  }

  /** Whether the next dispatch gets timestamps (the adapter has them and the limit is not reached). */
  get timing(): boolean {
    return this.timestamps && this.spans.length < this.limit;
  }

  /** Timestamp writes for the next dispatch's own pass, or undefined when it is not timed. */
  nextTimestampWrites(): GPUComputePassTimestampWrites | undefined {
    if (!this.timing) return undefined;
    const slot = this.slots;
    if (slot === this.sets.length * SLOTS_PER_SET) this.sets.push(this.device!.createQuerySet({ type: 'timestamp', count: SLOTS_PER_SET }));
    const querySet = this.sets[Math.floor(slot / SLOTS_PER_SET)];
    const i = slot % SLOTS_PER_SET;
    this.slots += 2;
    return { querySet, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }

  /** Closes the span since the previous event and charges it to (kind, name, shape). */
  event(kind: ProfileRowKind, name: string, shape = '', timed = false): void {
    const now = performance.now();
    const row = `${kind}\u0000${name}\u0000${shape}`;
    let info = this.rowInfo.get(row);
    if (!info) this.rowInfo.set(row, (info = { name, shape, kind, calls: 0, hostMs: 0 }));
    info.calls++;
    info.hostMs += now - this.last;
    this.events++;
    if (this.spans.length < this.limit) this.spans.push({ row, start: this.last, end: now, gpuSlot: timed ? this.slots - 2 : -1 });
    if (kind === 'submit' && this.firstSubmit === null) this.firstSubmit = now;
    this.last = now;
  }

  /** Reads every timestamp back (after the runtime flushed): begin/end pairs in ns, or null. */
  async readTimestamps(): Promise<BigInt64Array | null> {
    if (!this.timestamps || this.slots === 0) return this.timestamps ? new BigInt64Array(0) : null;
    const device = this.device!;
    const bytes = this.slots * 8;
    const readback = device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const resolved: GPUBuffer[] = [];
    try {
      const e = device.createCommandEncoder();
      this.sets.forEach((set, n) => {
        const count = Math.min(SLOTS_PER_SET, this.slots - n * SLOTS_PER_SET);
        const r = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
        resolved.push(r);
        e.resolveQuerySet(set, 0, count, r, 0);
        e.copyBufferToBuffer(r, 0, readback, n * SLOTS_PER_SET * 8, count * 8);
      });
      device.queue.submit([e.finish()]);
      await readback.mapAsync(GPUMapMode.READ);
      const stamps = new BigInt64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      return stamps;
    } finally {
      readback.destroy();
      for (const r of resolved) r.destroy();
      for (const s of this.sets) s.destroy();
    }
  }
}

let active = false;

/**
 * Runs `fn` (sync or async) and profiles the GPU work and host time it causes. Earlier work is
 * finished first, and `fn`'s work is finished before the result is returned (it is part of the
 * profile). On the CPU backend the rows are empty and only the wall time is measured.
 */
export async function profile<T>(fn: () => T | Promise<T>, options: ProfileOptions = {}): Promise<ProfileResult<Awaited<T>>> {
  if (active) throw new GpuError('profile: calls cannot nest or overlap');
  const limit = options.limit ?? 50_000;
  if (!(Number.isInteger(limit) && limit > 0)) throw new GpuError(`profile: options.limit must be a positive integer, got ${limit}`);
  const rt = gpuRuntime();
  if (rt) await rt.sync();
  active = true;
  const rec = new ProfileRecorder(rt ? rt.device : null, limit);
  const dispatches0 = rt ? rt.dispatchCount : 0;
  let result: Awaited<T>;
  let stamps: BigInt64Array | null = null;
  try {
    if (rt) rt.profiler = rec;
    try {
      result = await fn();
      if (rt) await rt.sync(); // fn's work belongs to the profile
    } finally {
      if (rt) rt.profiler = null;
    }
    rec.event('host', '(host)');
    if (rt) {
      rt.flush();
      stamps = await rec.readTimestamps();
    }
  } finally {
    active = false;
  }
  return summarize(rec, result!, stamps, rt ? rt.dispatchCount - dispatches0 : 0);
}

function summarize<T>(rec: ProfileRecorder, result: T, stamps: BigInt64Array | null, dispatches: number): ProfileResult<T> {
  const gpu = new Map<string, { ms: number; calls: number }>();
  let gpuTotal = 0;
  if (stamps) {
    for (const s of rec.spans) {
      if (s.gpuSlot < 0) continue;
      const a = stamps[s.gpuSlot];
      const b = stamps[s.gpuSlot + 1];
      const ms = b > a ? Number(b - a) / 1e6 : 0;
      let g = gpu.get(s.row);
      if (!g) gpu.set(s.row, (g = { ms: 0, calls: 0 }));
      g.ms += ms;
      g.calls++;
      gpuTotal += ms;
    }
  }
  let hostTotal = 0;
  for (const info of rec.rowInfo.values()) hostTotal += info.hostMs;
  const useGpu = stamps !== null && gpuTotal > 0;
  const rows: ProfileRow[] = [...rec.rowInfo].map(([key, info]) => {
    const g = gpu.get(key);
    const gpuMs = stamps !== null && (info.kind === 'kernel' || info.kind === 'copy') ? (g?.ms ?? 0) : null;
    const share = useGpu ? (gpuMs ?? 0) / gpuTotal : hostTotal > 0 ? info.hostMs / hostTotal : 0;
    return { name: info.name, shape: info.shape, kind: info.kind, calls: info.calls, gpuMs, gpuCalls: g?.calls ?? 0, hostMs: info.hostMs, share };
  });
  rows.sort((x, y) => y.share - x.share || y.hostMs - x.hostMs);
  const wallMs = rec.lastEvent - rec.started;
  const gpuMs = stamps !== null ? gpuTotal : null;
  const truncated = rec.events > rec.spans.length;
  return {
    result,
    rows,
    dispatches,
    wallMs,
    gpuMs,
    table: (limit = 30) => formatTable(rows, limit, { wallMs, gpuMs, dispatches, truncated: truncated ? rec.limit : 0 }),
    trace: () => chromeTrace(rec, stamps),
  };
}

function formatTable(rows: ProfileRow[], limit: number, t: { wallMs: number; gpuMs: number | null; dispatches: number; truncated: number }): string {
  const f = (x: number | null) => (x === null ? '-' : x.toFixed(3));
  const head = ['share', 'calls', 'GPU ms', 'host ms', 'kernel', 'shape'];
  const body = rows.slice(0, limit).map((r) => [`${(r.share * 100).toFixed(1)}%`, String(r.calls), f(r.gpuMs), f(r.hostMs), r.name, r.shape]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padStart(widths[i]) : i === 5 ? c : c.padEnd(widths[i]))).join('  ');
  const more = rows.length > limit ? [`… ${rows.length - limit} more rows`] : [];
  return [
    `${t.dispatches} dispatches; wall ${t.wallMs.toFixed(1)} ms; GPU ${t.gpuMs === null ? 'n/a (no timestamp-query)' : `${t.gpuMs.toFixed(1)} ms`}` +
      (t.truncated ? ` (GPU times and the trace cover the first ${t.truncated} events; calls and host times cover all)` : ''),
    line(head),
    ...body.map(line),
    ...more,
  ].join('\n');
}

function chromeTrace(rec: ProfileRecorder, stamps: BigInt64Array | null): { traceEvents: ChromeTraceEvent[]; displayTimeUnit: 'ms' } {
  const pid = 1;
  const events: ChromeTraceEvent[] = [
    { name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid: 1, args: { name: 'dualalign-gpu' } },
    { name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid: 1, args: { name: 'host' } },
    { name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid: 2, args: { name: 'GPU queue' } },
  ];
  const us = (ms: number) => Math.round((ms - rec.started) * 1000 * 1000) / 1000;
  let gpuZero: bigint | null = null;
  if (stamps) for (const s of rec.spans) if (s.gpuSlot >= 0 && (gpuZero === null || stamps[s.gpuSlot] < gpuZero)) gpuZero = stamps[s.gpuSlot];
  const gpuOrigin = us(rec.firstSubmit ?? rec.started);
  for (const s of rec.spans) {
    const info = rec.rowInfo.get(s.row)!;
    const args = info.shape ? { shape: info.shape } : undefined;
    events.push({ name: info.name, cat: info.kind, ph: 'X', ts: us(s.start), dur: Math.max(0, us(s.end) - us(s.start)), pid, tid: 1, args });
    if (stamps && gpuZero !== null && s.gpuSlot >= 0) {
      const a = stamps[s.gpuSlot];
      const b = stamps[s.gpuSlot + 1] > a ? stamps[s.gpuSlot + 1] : a;
      events.push({ name: info.name, cat: 'gpu', ph: 'X', ts: gpuOrigin + Number(a - gpuZero) / 1000, dur: Number(b - a) / 1000, pid, tid: 2, args });
    }
  }
  return { traceEvents: events, displayTimeUnit: 'ms' };
}
