/**
 * The validation split that model selection uses (browser-safe: the page in examples/web carves
 * its own with it). See trainer.ts for the selection protocols.
 */
import { deriveRng, shuffleInPlace } from '../data/prng.js';
import type { Sample } from '../data/types.js';

/**
 * Carves a validation split out of the training samples: stratified by grade (each grade keeps
 * its share, largest remainders first, at least one sample of each grade left for fitting where
 * the counts allow), seeded; at least 2 samples once there are 4 labeled ones. Samples without a grade always stay in `fit`. Only `train` is read, so no test sample
 * can end up in it.
 */
export function carveValidation(train: readonly Sample[], fraction: number, seed: number): { fit: Sample[]; validation: Sample[] } {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`validation fraction must be in (0, 1), got ${fraction}`);
  const byGrade = new Map<number, number[]>();
  train.forEach((s, i) => {
    if (s.grade === undefined) return;
    if (!byGrade.has(s.grade)) byGrade.set(s.grade, []);
    byGrade.get(s.grade)!.push(i);
  });
  const labeled = [...byGrade.values()].reduce((n, g) => n + g.length, 0);
  const grades = [...byGrade.keys()].sort((a, b) => a - b);
  // At least 2 (a rank correlation needs two samples) once there are 4 labeled samples to share.
  const target = Math.max(Math.round(fraction * labeled), labeled >= 4 ? 2 : 0);
  const exact = grades.map((g) => (byGrade.get(g)!.length * target) / Math.max(labeled, 1));
  const take = exact.map((e, k) => Math.min(Math.floor(e), byGrade.get(grades[k]!)!.length - 1));
  const byRemainder = grades.map((_, k) => k).sort((a, b) => exact[b]! - Math.floor(exact[b]!) - (exact[a]! - Math.floor(exact[a]!)) || a - b);
  let left = target - take.reduce((a, b) => a + b, 0);
  // Largest remainders first, keeping a sample of each grade for fitting; only if that cannot reach
  // the target (many grades with a single sample) does a grade's last sample go to validation.
  for (const keep of [1, 0]) {
    for (const k of byRemainder) {
      if (left <= 0) break;
      if (take[k]! < byGrade.get(grades[k]!)!.length - keep) {
        take[k]!++;
        left--;
      }
    }
  }
  const held = new Set<number>();
  grades.forEach((g, k) => {
    const order = shuffleInPlace([...byGrade.get(g)!], deriveRng(seed, 'validation', g));
    for (const i of order.slice(0, take[k]!)) held.add(i);
  });
  return { fit: train.filter((_, i) => !held.has(i)), validation: train.filter((_, i) => held.has(i)) };
}
