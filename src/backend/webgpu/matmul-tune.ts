/**
 * Matmul tuned per adapter: the SIMD kernel's row block (TM = RB · S rows per subgroup) is chosen
 * by measurement on the adapter in use, because the best block depends on the CPU behind llvmpipe
 * (register file, vector width, cache): TM = 8 ran at 2× TM = 32 on one AVX2 host, TM = 32 won on
 * an AVX-512 host. `tuneMatmul()` times one probe product (512³) with each block, interleaved in
 * rounds (the minimum per block, which load on a shared machine inflates least), and records each
 * block's rate relative to the best; planMatmul's chooseTM then weighs padding waste against those
 * measured rates instead of built-in ones.
 *
 * The result is cached per adapter: in memory for the runtime, and through a store (Node: a JSON
 * file under ~/.cache/dualalign-gpu, keyed by the adapter, Mesa's version string and the CPU
 * model: src/backend/webgpu/matmul-tune.node.ts), so the measurement runs once per machine. init() runs
 * `autotuneMatmul` on CPU adapters (only there does the SIMD path exist); `DUALALIGN_MATMUL=tm=N`
 * (a fixed block) or `DUALALIGN_MATMUL=tune=off` skips it.
 */
import type { GpuRuntime } from '../../gpu/runtime.js';
import { configureMatmul, cpuSimdLanes, matmulConfig, setRowBlockRates } from './matmul.js';
import { tensor } from '../../autograd/ops/creation.js';
import { matmul } from '../../autograd/ops/linalg.js';

/** What one tuning measured: GFLOP/s of the probe per row block, and the relative rates used. */
export interface MatmulTuning {
  key: string;
  /** Probe product [M, K] @ [K, N]. */
  probe: [number, number, number];
  /** Row block → best GFLOP/s of the probe (GPU time where the adapter has timestamps, else wall). */
  gflops: Record<number, number>;
  /** Row block → rate relative to the best block (what chooseTM weighs). */
  rates: Record<number, number>;
  /** The block the probe ran fastest with. */
  best: number;
  date: string;
}

/** Where tunings persist between processes (Node: a file; the browser has none). */
export interface TuneStore {
  /** Adds what identifies the host to the key (the CPU model), or '' where unknown. */
  machine(): string;
  load(key: string): MatmulTuning | null;
  save(t: MatmulTuning): void;
}

let store: TuneStore | null = null;

/** Sets the store (src/index.ts installs the Node file store). */
export function setTuneStore(s: TuneStore | null): void {
  store = s;
}

const PROBE: [number, number, number] = [512, 512, 512];
const ROUNDS = 3;

/** The cache key of this adapter on this host. */
export function tuneKey(rt: GpuRuntime): string {
  const i = rt.info;
  return [i.backend, i.vendor, i.architecture, i.device, i.description, store?.machine() ?? ''].join(' | ');
}

/** The row blocks tuned on an adapter with S-lane subgroups (those chooseTM may pick). */
export function rowBlocks(S: number): number[] {
  return [1, 2, 4].map((rb) => rb * S);
}

/**
 * Measures every row block on the probe and installs the measured rates. Returns the tuning, or
 * null where the adapter has no SIMD path (a real GPU: nothing to tune here).
 */
export async function tuneMatmul(rt: GpuRuntime): Promise<MatmulTuning | null> {
  const S = cpuSimdLanes(rt);
  if (S === 0) return null;
  const [M, K, N] = PROBE;
  const blocks = rowBlocks(S);
  const prev = configureMatmul({ path: 'simd', tm: blocks[0] });
  const best: Record<number, number> = {};
  // Fixed data, not randn: tuning must not advance the seeded generator (same seed, same model).
  const a = tensor(Float32Array.from({ length: M * K }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5), [M, K]);
  const b = tensor(Float32Array.from({ length: K * N }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5), [K, N]);
  try {
    const once = () => matmul(a, b).dispose();
    // Compile every variant first (seconds each on llvmpipe), outside the timings.
    for (const tm of blocks) {
      configureMatmul({ tm });
      once();
    }
    await rt.sync();
    for (let r = 0; r < ROUNDS; r++) {
      for (const tm of blocks) {
        configureMatmul({ tm });
        let ms = await rt.timeGpu(once);
        if (ms === null) {
          const t0 = performance.now();
          once();
          await rt.sync();
          ms = performance.now() - t0;
        }
        best[tm] = Math.min(best[tm] ?? Infinity, ms);
      }
    }
  } finally {
    configureMatmul(prev);
    a.dispose();
    b.dispose();
  }
  const flops = 2 * M * N * K;
  const gflops: Record<number, number> = {};
  for (const tm of blocks) gflops[tm] = flops / best[tm] / 1e6;
  const top = Math.max(...blocks.map((tm) => gflops[tm]));
  const rates: Record<number, number> = {};
  for (const tm of blocks) rates[tm] = gflops[tm] / top;
  const bestTm = blocks.find((tm) => rates[tm] === 1)!;
  const tuning: MatmulTuning = { key: tuneKey(rt), probe: PROBE, gflops, rates, best: bestTm, date: new Date().toISOString() };
  setRowBlockRates(rt, rates);
  store?.save(tuning);
  return tuning;
}

/**
 * On first use of an adapter (init): the stored tuning when there is one, else a measurement
 * (a few seconds, once per adapter and host). Nothing on adapters without the SIMD path, or when
 * DUALALIGN_MATMUL fixes the block (tm=N) or turns tuning off (tune=off).
 */
export async function autotuneMatmul(rt: GpuRuntime): Promise<MatmulTuning | null> {
  if (cpuSimdLanes(rt) === 0) return null;
  const cfg = matmulConfig();
  if (cfg.tm > 0 || !cfg.tune) return null;
  const stored = store?.load(tuneKey(rt)) ?? null;
  if (stored && rowBlocks(cpuSimdLanes(rt)).every((tm) => typeof stored.rates[tm] === 'number' && stored.rates[tm] > 0)) {
    setRowBlockRates(rt, stored.rates);
    return stored;
  }
  return tuneMatmul(rt);
}
