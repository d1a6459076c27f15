/**
 * Philox4x32-10 (Salmon et al., SC'11), the counter-based generator behind rand, randn and dropout.
 * Element i of a draw uses counter (counter + i, 0, 0, 0) and key (seed, seed_hi): every element is
 * independent of the others, so the GPU kernel (wgsl/random.wgsl) and this reference produce the
 * same stream in any order.
 */
import type { RandomKind } from './backend.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32s. */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lolo = aLo * bLo;
  const lohi = aLo * bHi;
  const hilo = aHi * bLo;
  const hihi = aHi * bHi;
  const cross = (lolo >>> 16) + (lohi & 0xffff) + (hilo & 0xffff);
  return (hihi + (lohi >>> 16) + (hilo >>> 16) + (cross >>> 16)) >>> 0;
}

export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): [number, number, number, number] {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/**
 * Maps a u32 to (0, 1) exactly as the kernel does: 23 bits, centred, so never 0 or 1. Every value
 * (k + 0.5) / 2^23 is exact in f32 as well as f64, so both backends get bit-identical uniforms.
 */
export function toUnit(x: number): number {
  return ((x >>> 9) + 0.5) / 8388608;
}

export class Philox {
  private k0: number;
  private k1: number;
  constructor(seed: number) {
    this.k0 = seed >>> 0;
    this.k1 = Math.floor(seed / 4294967296) >>> 0;
  }
  /** The value of element `index` of a draw of `kind` (p0, p1: low/high, mean/std, or keep probability). */
  sample(kind: RandomKind, index: number, p0: number, p1: number): number {
    const [x0, x1] = philox4x32(index >>> 0, Math.floor(index / 4294967296) >>> 0, 0, 0, this.k0, this.k1);
    const u = toUnit(x0);
    if (kind === 'uniform') return p0 + (p1 - p0) * u;
    // The kernel compares against p0 as an f32; so does the reference, or masks could differ.
    if (kind === 'bernoulli') return u < Math.fround(p0) ? 1 : 0;
    const u2 = toUnit(x1);
    return p0 + p1 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * u2);
  }
}
