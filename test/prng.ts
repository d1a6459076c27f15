/**
 * The tests' seeded uniform stream in [0, 1): mulberry32 from src/data/prng.ts as a plain function
 * (independent of the engine's Philox). tools/gram_golden.py and tools/attention_golden.py implement
 * the same generator, so their fixtures and the tests draw identical inputs.
 */
import { mulberry32 as stream } from '../src/data/prng.js';

export function mulberry32(seed: number): () => number {
  return stream(seed).next;
}
