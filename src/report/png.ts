/**
 * SVG -> PNG with @resvg/resvg-js (system fonts; DejaVu Sans preferred). Node only. resvg is an
 * optional dependency (a native binary of about 4 MB per platform), loaded on first use.
 */
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

/** Says that PNGs are skipped because the optional @resvg/resvg-js is absent. */
export const RESVG_MISSING_NOTE = 'PNG plots skipped: the optional @resvg/resvg-js is not installed (npm install @resvg/resvg-js); figures are written as SVG';

/** PNG bytes of an SVG at `scale` (default 2 for crisp text); throws when resvg is not installed. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const Resvg = loadResvg();
  if (!Resvg) throw new Error(RESVG_MISSING_NOTE);
  return new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: 'white',
  })
    .render()
    .asPng();
}

/** The loggers already told that resvg is missing: each gets the one-line note once, not once per figure. */
const notified = new WeakSet<(message: string) => void>();

/**
 * Writes `<base>.svg` and `<base>.png`; returns the paths written. Without the optional
 * @resvg/resvg-js only the SVG is written, and `warn` gets RESVG_MISSING_NOTE once.
 */
export function writeFigure(base: string, svg: string, warn?: (message: string) => void): string[] {
  writeFileAtomic(`${base}.svg`, svg);
  if (!loadResvg()) {
    if (warn && !notified.has(warn)) {
      notified.add(warn);
      warn(RESVG_MISSING_NOTE);
    }
    return [`${base}.svg`];
  }
  try {
    writeFileAtomic(`${base}.png`, svgToPng(svg));
    return [`${base}.svg`, `${base}.png`];
  } catch (error) {
    warn?.(`${base}.png not written: ${(error as Error).message}`);
    return [`${base}.svg`];
  }
}
