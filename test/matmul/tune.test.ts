// Matmul tuned per adapter (src/backend/webgpu/matmul-tune.ts): the measured row-block rates decide the
// SIMD kernel's TM; a stored tuning is used without measuring; products stay exact with every block.
import { afterAll, describe, expect, it } from 'vitest';
import { gpuRuntime, tensor, matmul } from '../../src/index.js';
import { cpuSimdLanes, planMatmul, rowBlockRatesOf, setRowBlockRates, configureMatmul, type SimdPlan } from '../../src/backend/webgpu/matmul.js';
import { autotuneMatmul, rowBlocks, setTuneStore, tuneKey, tuneMatmul, type MatmulTuning, type TuneStore } from '../../src/backend/webgpu/matmul-tune.js';
import { platformTuneStore } from '../../src/gpu/dawn.js';

const rt = () => gpuRuntime()!;
const S = () => cpuSimdLanes(rt());
const saved = () => ({ ...rowBlockRatesOf(rt(), S() || 8) });

function planTM(M: number, K: number, N: number): number {
  const a = tensor(new Float32Array(M * K), [M, K]);
  const b = tensor(new Float32Array(K * N), [K, N]);
  const p = planMatmul(rt(), a, b) as SimdPlan;
  a.dispose();
  b.dispose();
  expect(p.path).toBe('simd');
  return p.TM;
}

/** A store in memory (the file store is Node's; this checks the protocol). */
function memoryStore(): TuneStore & { saved: MatmulTuning[]; entries: Map<string, MatmulTuning> } {
  const entries = new Map<string, MatmulTuning>();
  const saved: MatmulTuning[] = [];
  return {
    entries,
    saved,
    machine: () => 'test CPU',
    load: (k) => entries.get(k) ?? null,
    save: (t) => {
      saved.push(t);
      entries.set(t.key, t);
    },
  };
}

afterAll(async () => {
  configureMatmul(null);
  setTuneStore(await platformTuneStore());
});

describe('matmul tuning', () => {
  it('tuneMatmul measures every row block, and planMatmul then picks the fastest block for padding-free rows', async () => {
    if (S() === 0) {
      expect(await tuneMatmul(rt())).toBeNull(); // a GPU adapter: nothing to tune
      return;
    }
    const before = saved();
    const store = memoryStore();
    setTuneStore(store);
    try {
      const t = (await tuneMatmul(rt()))!;
      expect(Object.keys(t.gflops).map(Number).sort((x, y) => x - y)).toEqual(rowBlocks(S()));
      for (const tm of rowBlocks(S())) {
        expect(t.gflops[tm]).toBeGreaterThan(0);
        expect(t.rates[tm]).toBeGreaterThan(0);
        expect(t.rates[tm]).toBeLessThanOrEqual(1);
      }
      expect(t.rates[t.best]).toBe(1);
      expect(store.saved).toHaveLength(1);
      expect(store.saved[0].key).toBe(tuneKey(rt()));
      // 1024 rows: no block pads, so the plan takes the measured best.
      expect(planTM(1024, 256, 256)).toBe(t.best);
    } finally {
      setRowBlockRates(rt(), before);
    }
  }, 300_000);

  it('autotuneMatmul uses a stored tuning without measuring; the rates decide TM', async () => {
    if (S() === 0) return;
    const before = saved();
    const s = S();
    const store = memoryStore();
    setTuneStore(store);
    try {
      const key = tuneKey(rt());
      const fake = (rates: number[]): MatmulTuning => ({
        key,
        probe: [512, 512, 512],
        gflops: Object.fromEntries(rowBlocks(s).map((tm, i) => [tm, rates[i] * 10])),
        rates: Object.fromEntries(rowBlocks(s).map((tm, i) => [tm, rates[i]])),
        best: rowBlocks(s)[rates.indexOf(1)],
        date: '2026-01-01T00:00:00Z',
      });
      store.entries.set(key, fake([1, 0.5, 0.5]));
      const t0 = performance.now();
      const used = await autotuneMatmul(rt());
      expect(performance.now() - t0).toBeLessThan(1000); // read, not measured
      expect(used!.best).toBe(s);
      expect(store.saved).toHaveLength(0);
      expect(planTM(1024, 256, 256)).toBe(s);
      store.entries.set(key, fake([0.5, 0.6, 1]));
      await autotuneMatmul(rt());
      expect(planTM(1024, 256, 256)).toBe(4 * s);
      // Padding still counts: 4·S + 1 rows with equal rates take the smallest block that fits best.
      store.entries.set(key, fake([1, 1, 1]));
      await autotuneMatmul(rt());
      expect(planTM(4 * s + 1, 256, 256)).toBe(s);
      // A fixed block (DUALALIGN_MATMUL=tm=N) or tune=off: no tuning.
      configureMatmul({ tm: 2 * s });
      expect(await autotuneMatmul(rt())).toBeNull();
      configureMatmul({ tm: 0, tune: false });
      expect(await autotuneMatmul(rt())).toBeNull();
    } finally {
      configureMatmul(null);
      setRowBlockRates(rt(), before);
    }
  });

  it('products are exact with every row block', async () => {
    if (S() === 0) return;
    const M = 3 * S() + 5;
    const K = 37;
    const N = 29;
    const a = Float32Array.from({ length: M * K }, (_, i) => ((i * 31) % 17) - 8);
    const b = Float32Array.from({ length: K * N }, (_, i) => ((i * 7) % 13) - 6);
    const ref = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) ref[i * N + j] += a[i * K + k] * b[k * N + j];
    for (const tm of rowBlocks(S())) {
      configureMatmul({ path: 'simd', tm });
      const ta = tensor(a, [M, K]);
      const tb = tensor(b, [K, N]);
      const c = matmul(ta, tb);
      expect(Array.from(await c.data()), `TM=${tm}`).toEqual(Array.from(ref)); // small integers: exact in f32
      for (const t of [ta, tb, c]) t.dispose();
    }
    configureMatmul(null);
  });
});
