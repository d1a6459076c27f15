// The BENCHMARKS.md figure: for every timed row, how many times faster we are than each peer
// (peer median / ours), one horizontal bar per peer on a log axis, 1× marked; bars left of it are
// rows where we are behind. Plain SVG (same style as src/report/svg.ts), PNG through resvg.
import { createRequire } from 'node:module';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';
const esc = (t) => String(t).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]);

/** rows: [{ label, ratios: { [peer]: number } }]; peers: the legend order. Returns an SVG string. */
export function ratioChart({ title, rows, peers }) {
  const bar = 7;
  const labelW = 330;
  const plotW = 560;
  const top = 56;
  const rowH = (r) => Math.max(1, Object.keys(r.ratios).length) * bar + 8;
  const height = top + rows.reduce((h, r) => h + rowH(r), 0) + 40;
  const width = labelW + plotW + 30;
  const all = rows.flatMap((r) => Object.values(r.ratios));
  const lo = Math.min(0.01, ...all.map((v) => 10 ** Math.floor(Math.log10(v))));
  const hi = Math.max(100, ...all.map((v) => 10 ** Math.ceil(Math.log10(v))));
  const sx = (v) => labelW + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  const parts = [`<text x="${width / 2}" y="20" font-size="15" font-weight="bold" text-anchor="middle">${esc(title)}</text>`];
  peers.forEach((p, i) => {
    const x = labelW + (i * plotW) / peers.length;
    parts.push(`<rect x="${x}" y="30" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 14}" y="39" font-size="11">${esc(p)}</text>`);
  });
  for (let d = Math.log10(lo); d <= Math.log10(hi); d++) {
    const x = sx(10 ** d);
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${height - 34}" stroke="${d === 0 ? '#000' : '#ddd'}" stroke-width="${d === 0 ? 1.5 : 1}"/>`);
    parts.push(`<text x="${x}" y="${height - 20}" font-size="11" text-anchor="middle">${10 ** d >= 1 ? 10 ** d : (10 ** d).toFixed(-d)}×</text>`);
  }
  parts.push(`<text x="${labelW + plotW / 2}" y="${height - 4}" font-size="12" text-anchor="middle">peer time / our time (log scale; right of the black line: we are faster)</text>`);
  let y = top;
  for (const r of rows) {
    const h = rowH(r);
    parts.push(`<text x="${labelW - 6}" y="${y + h / 2}" font-size="10" text-anchor="end" dominant-baseline="middle">${esc(r.label)}</text>`);
    let by = y + 4;
    for (const [p, v] of Object.entries(r.ratios)) {
      const x0 = sx(1);
      const x1 = sx(v);
      const c = PALETTE[peers.indexOf(p) % PALETTE.length];
      parts.push(`<rect x="${Math.min(x0, x1).toFixed(1)}" y="${by}" width="${Math.abs(x1 - x0).toFixed(1)}" height="${bar - 1}" fill="${c}"/>`);
      by += bar;
    }
    parts.push(`<line x1="${labelW - 300}" y1="${y + h}" x2="${labelW + plotW}" y2="${y + h}" stroke="#f0f0f0"/>`);
    y += h;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>\n<rect width="100%" height="100%" fill="#ffffff"/>\n${parts.join('\n')}\n</svg>\n`;
}

/** PNG bytes of an SVG through @resvg/resvg-js (a dependency of the library), or null when it cannot load. */
export function svgToPng(svg, requireFrom) {
  try {
    const { Resvg } = createRequire(requireFrom)('@resvg/resvg-js');
    return new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng();
  } catch {
    return null;
  }
}
