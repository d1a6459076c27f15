// Attention at large logits (issue 13): with q and k scaled so the largest logit is 1, 10, 100 or
// 1000 (a saturated softmax at the top), the forward and every gradient of every kernel family stay
// within a small factor of PyTorch float32's own error on the same inputs against float64
// (test/fixtures/attention/logit-scale.json, tools/attention_logit_scale.py). Before the forward
// kept m and log l apart (and the backward recomputed S exactly as the forward did), an f32
// log-sum-exp and a differently rounded S put dV 10x past float32's error at logits ~1e3.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { setAttentionTuning, type AttnTuning } from '../../src/index.js';
import { inputs, relErr, run, type Inputs, type Shape } from './helpers.js';

interface Case extends Shape {
  name: string;
  seed: number;
  logits: number;
  torchFloat32Err: Record<'out' | 'dq' | 'dk' | 'dv', number>;
}
const cases = (JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/attention/logit-scale.json', import.meta.url)), 'utf8')) as { cases: Case[] }).cases;

/** q and k times sqrt(L / max |S|), S = q_h k_hᵀ / sqrt(D/H) in float64 (as the fixture's generator). */
function scaled(x: Inputs, s: Shape, L: number): Inputs {
  const dh = s.D / s.heads;
  let m = 0;
  for (let b = 0; b < s.B; b++) {
    for (let h = 0; h < s.heads; h++) {
      for (let i = 0; i < s.Tq; i++) {
        const qo = (b * s.Tq + i) * s.D + h * dh;
        for (let j = 0; j < s.Tk; j++) {
          const ko = (b * s.Tk + j) * s.D + h * dh;
          let a = 0;
          for (let d = 0; d < dh; d++) a += x.q[qo + d] * x.k[ko + d];
          m = Math.max(m, Math.abs(a / Math.sqrt(dh)));
        }
      }
    }
  }
  const f = Math.sqrt(L / m);
  return { ...x, q: x.q.map((v) => v * f), k: x.k.map((v) => v * f) };
}

/** Every kernel family and backward path: direct single-pass and two-kernel, staged tiled and rows. */
const FAMILIES: [string, 'direct' | 'staged', Partial<AttnTuning>][] = [
  ['direct, single-pass backward', 'direct', { single: 1 }],
  ['direct, two-kernel backward', 'direct', { single: 0 }],
  ['staged tiled', 'staged', { staged: 'tiled' }],
  ['staged rows', 'staged', { staged: 'rows' }],
];

/** A small factor of float32's own error, with a floor at float32's rounding of O(1) values. */
const FACTOR = 3;
const FLOOR = 1e-6;

describe('crossAttention at logit scales 1 to 1000: within a small factor of PyTorch float32', () => {
  for (const name of [...new Set(cases.map((c) => c.name))]) {
    it(name, async () => {
      for (const c of cases.filter((x) => x.name === name)) {
        const s: Shape = { B: c.B, Tq: c.Tq, Tk: c.Tk, D: c.D, heads: c.heads, mask: true };
        const x = scaled(inputs(c.seed, s), s, c.logits);
        const ref = await run(s, x, 'cpu64');
        for (const [family, where, tune] of FAMILIES) {
          const prev = setAttentionTuning(tune);
          try {
            const got = await run(s, x, where);
            for (const t of ['out', 'dq', 'dk', 'dv'] as const) {
              const bound = Math.max(FACTOR * c.torchFloat32Err[t], FLOOR);
              expect(relErr(got[t], ref[t]), `logits ${c.logits}, ${family}: ${t} (PyTorch float32 ${c.torchFloat32Err[t].toExponential(2)})`).toBeLessThan(bound);
            }
          } finally {
            setAttentionTuning(prev);
          }
        }
      }
    }, 900_000); // four kernel families' first compiles
  }
});
