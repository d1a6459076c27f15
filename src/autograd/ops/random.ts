/**
 * Seeded randomness. One generator (seed, counter): each draw of n values takes counters
 * [counter, counter + n) of the Philox stream, so a seed reproduces the same numbers in the same
 * order on every backend. manualSeed() resets it; a Generator can be passed for an independent stream.
 */
import type { RandomKind } from '../../backend/backend.js';
import { sizeOf } from '../../backend/backend.js';
import type { Tensor } from '../tensor.js';
import { wrap } from './util.js';

export class Generator {
  counter = 0;
  constructor(public seed = 0x5eed) {}
  /** Reserves n consecutive counters. */
  take(n: number): number {
    const c = this.counter;
    this.counter += n;
    return c;
  }
}

export const defaultGenerator = new Generator();

export function manualSeed(seed: number): void {
  defaultGenerator.seed = seed;
  defaultGenerator.counter = 0;
}

/** Random values of `shape` on `like`'s backend (no graph). */
export function randomRaw(like: Tensor, kind: RandomKind, shape: readonly number[], p0: number, p1: number, gen = defaultGenerator): Tensor {
  const n = sizeOf(shape);
  const dtype = like.dtype === 'float64' ? 'float64' : 'float32';
  return wrap(like.backend.random(kind, n, gen.seed, gen.take(n), p0, p1, dtype), shape, dtype);
}
