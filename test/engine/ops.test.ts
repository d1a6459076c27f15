// Every op on the device against the float64 CPU reference: forward values and every input's
// gradient of a random-weighted sum (see harness.ts and the case table in cases.ts).
import { describe, it } from 'vitest';
import { CASES } from './cases.js';
import { parity } from './harness.js';

describe('device vs CPU reference', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await parity(c.name, c.fn, c.specs, c.opts);
    });
  }
});
