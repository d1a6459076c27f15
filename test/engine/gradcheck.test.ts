// Finite-difference gradient checks in float64 on the CPU reference, for every differentiable op
// (the `fd` cases of cases.ts: small shapes, strided views and broadcasting included).
import { describe, it } from 'vitest';
import { CASES } from './cases.js';
import { gradcheck } from './harness.js';

describe('gradcheck (central differences, float64)', () => {
  for (const c of CASES.filter((c) => c.fd)) {
    it(c.name, async () => {
      await gradcheck(c.name, c.fn, c.specs);
    });
  }
});
