/** SVG -> PNG with @resvg/resvg-js (system fonts; DejaVu Sans preferred). Node only. */
import { createRequire } from 'node:module';
import { writeFileAtomic } from '../io/atomic.node.js';

type ResvgCtor = new (svg: string, opts: Record<string, unknown>) => { render(): { asPng(): Uint8Array } };

let resvg: ResvgCtor | null | undefined;

function loadResvg(): ResvgCtor | null {
  if (resvg === undefined) {
    try {
      resvg = (createRequire(import.meta.url)('@resvg/resvg-js') as { Resvg: ResvgCtor }).Resvg;
    } catch {
      resvg = null;
    }
  }
  return resvg;
}

/** PNG bytes of an SVG at `scale` (default 2 for crisp text); throws when resvg is not installed. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const Resvg = loadResvg();
  if (!Resvg) throw new Error('@resvg/resvg-js is not installed (npm install @resvg/resvg-js) — PNG output needs it');
  return new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: 'white',
  })
    .render()
    .asPng();
}

/** Writes `<base>.svg` and `<base>.png`; returns the paths written (PNG skipped with a warning if resvg is missing). */
export function writeFigure(base: string, svg: string, warn?: (message: string) => void): string[] {
  writeFileAtomic(`${base}.svg`, svg);
  try {
    writeFileAtomic(`${base}.png`, svgToPng(svg));
    return [`${base}.svg`, `${base}.png`];
  } catch (error) {
    warn?.(`${base}.png not written: ${(error as Error).message}`);
    return [`${base}.svg`];
  }
}
