/**
 * The elementwise op surface is generated from the op table (SURFACE in src/backend/op-table.ts):
 * src/autograd/ops/generated.ts must be what scripts/gen-ops.mjs writes now, and every row must be
 * a function export of the package, a Tensor method and (unary, binary) a fuse() Expr method that
 * compute the same values.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as api from '../../src/index.js';
import { SURFACE, type SurfaceOp } from '../../src/backend/op-table.js';
// @ts-expect-error a plain .mjs script without declarations
import { render, surfaceRows } from '../../scripts/gen-ops.mjs';

const ROOT = join(import.meta.dirname, '../..');

describe('the generated elementwise surface', () => {
  it('src/autograd/ops/generated.ts is up to date with the table (npm run gen:ops)', async () => {
    const text = render(await surfaceRows());
    expect(readFileSync(join(ROOT, 'src/autograd/ops/generated.ts'), 'utf8')).toBe(text);
  });

  it('every row is a function, a Tensor method and an Expr method with the same values', async () => {
    const cpu = { backend: 'cpu' as const };
    const x = api.tensor([0.5, 1.5, 2.25, 3], [4], cpu);
    const y = api.tensor([1.25, 0.5, 2.25, 4], [4], cpu);
    const lib = api as unknown as Record<string, (...a: unknown[]) => api.Tensor>;
    for (const [name, row] of Object.entries(SURFACE) as [string, SurfaceOp][]) {
      expect(typeof lib[name], `function ${name}`).toBe('function');
      const m = (x as unknown as Record<string, (o?: unknown) => api.Tensor>)[name];
      expect(typeof m, `method ${name}`).toBe('function');
      const args = row.kind === 'unary' ? [] : [y];
      const viaFn = Array.from(await lib[name](x, ...args).data());
      const viaMethod = Array.from(await m.call(x, ...args).data());
      expect(viaMethod, name).toEqual(viaFn);
      if (row.kind === 'compare') continue;
      const fused = api.fuse((a, b) => (row.kind === 'unary' ? (a as unknown as Record<string, () => api.Expr>)[name]() : (a as unknown as Record<string, (o: api.Expr) => api.Expr>)[name](b)));
      const viaExpr = Array.from(await fused(x, y).data());
      viaExpr.forEach((v, i) => expect(v, `${name} fused [${i}]`).toBeCloseTo(viaFn[i], 5));
      if (row.kind === 'binary' && row.right) {
        // a number operand takes the row's scalar form on every surface
        const s = 0.75;
        const fnS = Array.from(await lib[name](x, s).data());
        expect(Array.from(await m.call(x, s).data()), `${name} scalar method`).toEqual(fnS);
        const exprS = Array.from(await api.fuse((a) => (a as unknown as Record<string, (o: number) => api.Expr>)[name](s))(x).data());
        exprS.forEach((v, i) => expect(v, `${name} fused scalar [${i}]`).toBeCloseTo(fnS[i], 5));
      }
    }
  });
});
