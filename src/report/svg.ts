/**
 * Hand-written SVG charts for the run reports: line charts (training curves, robustness
 * curves), scatter plots (predicted vs true grade) and heatmaps (per-grade confusion), plus a
 * grid that places several charts in one figure. Plain strings, no dependencies; text uses a
 * generic sans-serif family so any renderer (browsers, resvg with system fonts) can draw it.
 */

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const FONT = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = (v: number): string => (Math.abs(v) < 1e-9 ? '0' : Number(v.toPrecision(4)).toString());
const num = (v: number): string => (Number.isFinite(v) ? Number(v.toFixed(2)).toString() : '0');

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max === min) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max - step * 1e-9) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

export function svgDocument(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>\n<rect width="100%" height="100%" fill="#ffffff"/>\n${body}\n</svg>\n`;
}

interface Frame {
  x0: number;
  y0: number;
  w: number;
  h: number;
  sx: (v: number) => number;
  sy: (v: number) => number;
  xTicks: number[];
  yTicks: number[];
}

function frame(width: number, height: number, xDomain: [number, number], yDomain: [number, number], opts: { xTicks?: number[]; yTicks?: number[]; legendRight?: boolean } = {}): Frame {
  const x0 = 62;
  const y0 = 40;
  const w = width - x0 - (opts.legendRight ? 170 : 24);
  const h = height - y0 - 52;
  const xTicks = opts.xTicks ?? niceTicks(xDomain[0], xDomain[1], 6);
  const yTicks = opts.yTicks ?? niceTicks(yDomain[0], yDomain[1], 5);
  const [xa, xb] = [Math.min(xDomain[0], xTicks[0]!), Math.max(xDomain[1], xTicks[xTicks.length - 1]!)];
  const [ya, yb] = [Math.min(yDomain[0], yTicks[0]!), Math.max(yDomain[1], yTicks[yTicks.length - 1]!)];
  const sx = (v: number): number => x0 + ((v - xa) / (xb - xa || 1)) * w;
  const sy = (v: number): number => y0 + h - ((v - ya) / (yb - ya || 1)) * h;
  return { x0, y0, w, h, sx, sy, xTicks, yTicks };
}

function axes(f: Frame, title: string, xLabel: string, yLabel: string, xTickLabel: (v: number) => string = fmt): string {
  const parts: string[] = [];
  parts.push(`<text x="${num(f.x0 + f.w / 2)}" y="22" font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>`);
  for (const t of f.yTicks) {
    const y = num(f.sy(t));
    parts.push(`<line x1="${f.x0}" x2="${num(f.x0 + f.w)}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${f.x0 - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${escapeXml(fmt(t))}</text>`);
  }
  for (const t of f.xTicks) {
    const x = num(f.sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${f.y0 + f.h}" y2="${f.y0 + f.h + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x}" y="${f.y0 + f.h + 17}" font-size="11" text-anchor="middle">${escapeXml(xTickLabel(t))}</text>`);
  }
  parts.push(`<rect x="${f.x0}" y="${f.y0}" width="${num(f.w)}" height="${num(f.h)}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${num(f.x0 + f.w / 2)}" y="${f.y0 + f.h + 38}" font-size="12" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  parts.push(`<text x="16" y="${num(f.y0 + f.h / 2)}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${num(f.y0 + f.h / 2)})">${escapeXml(yLabel)}</text>`);
  return parts.join('\n');
}

function legend(items: Array<{ name: string; color: string; dashed?: boolean; dash?: string }>, x: number, y: number): string {
  return items
    .map((it, i) => {
      const yy = y + i * 18;
      const pattern = it.dash ?? (it.dashed ? '5 3' : undefined);
      const dash = pattern ? ` stroke-dasharray="${pattern}"` : '';
      const name = it.name.length > 20 ? `${it.name.slice(0, 19)}…` : it.name;
      return `<line x1="${x}" x2="${x + 22}" y1="${yy}" y2="${yy}" stroke="${it.color}" stroke-width="2.5"${dash}/><text x="${x + 28}" y="${yy}" font-size="11" dominant-baseline="middle">${escapeXml(name)}</text>`;
    })
    .join('\n');
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
  color?: string;
  dashed?: boolean;
  /** SVG stroke-dasharray (overrides dashed). */
  dash?: string;
  /** Draw a marker at each point (default true when there are at most 30 points). */
  markers?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  yDomain?: [number, number];
  xDomain?: [number, number];
  xTicks?: number[];
}

export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 640;
  const height = o.height ?? 400;
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xDomain = o.xDomain ?? [Math.min(...xs, Infinity) === Infinity ? 0 : Math.min(...xs), Math.max(...xs, -Infinity) === -Infinity ? 1 : Math.max(...xs)];
  const yDomain = o.yDomain ?? [ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1];
  const legendRight = o.series.length > 1;
  // Integer x values over a short range (epochs, grades): integer ticks.
  const integerX = xs.length > 0 && xs.every((x) => Number.isInteger(x)) && xDomain[1] - xDomain[0] <= 12;
  const xTicks = o.xTicks ?? (integerX ? Array.from({ length: xDomain[1] - xDomain[0] + 1 }, (_, i) => xDomain[0] + i) : undefined);
  const f = frame(width, height, xDomain, yDomain, { xTicks, legendRight });
  const parts = [axes(f, o.title, o.xLabel, o.yLabel)];
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length === 0) return;
    const d = pts.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${num(f.sx(x))},${num(f.sy(y))}`).join(' ');
    const pattern = s.dash ?? (s.dashed ? '5 3' : undefined);
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${pattern ? ` stroke-dasharray="${pattern}"` : ''}/>`);
    if (s.markers ?? pts.length <= 30) {
      for (const [x, y] of pts) parts.push(`<circle cx="${num(f.sx(x))}" cy="${num(f.sy(y))}" r="3" fill="${color}"/>`);
    }
  });
  if (legendRight) parts.push(legend(o.series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length]!, dashed: s.dashed, dash: s.dash })), f.x0 + f.w + 14, f.y0 + 8));
  return svgDocument(width, height, parts.join('\n'));
}

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  points: Array<{ x: number; y: number; group?: string }>;
  /** Draw y = x. */
  diagonal?: boolean;
  /** Jitter in axis units, deterministic per point index (spreads overlapping integer grades). */
  jitter?: number;
  yJitter?: number;
  domain?: [number, number];
  width?: number;
  height?: number;
}

export function scatterPlot(o: ScatterOptions): string {
  const width = o.width ?? 480;
  const height = o.height ?? 440;
  const vals = o.points.flatMap((p) => [p.x, p.y]);
  const domain = o.domain ?? [Math.min(...vals), Math.max(...vals)];
  const pad = (domain[1] - domain[0]) * 0.08 || 0.5;
  const d: [number, number] = [domain[0] - pad, domain[1] + pad];
  const groups = [...new Set(o.points.map((p) => p.group ?? ''))];
  const legendRight = groups.length > 1;
  const integral = Number.isInteger(domain[0]) && Number.isInteger(domain[1]) && domain[1] - domain[0] <= 12;
  const ticks = (integral ? Array.from({ length: domain[1] - domain[0] + 1 }, (_, i) => domain[0] + i) : niceTicks(domain[0], domain[1], 6)).filter((t) => t >= d[0] && t <= d[1]);
  const f = frame(width, height, d, d, { xTicks: ticks, yTicks: ticks, legendRight });
  const parts = [axes(f, o.title, o.xLabel, o.yLabel)];
  if (o.diagonal) parts.push(`<line x1="${num(f.sx(d[0]))}" y1="${num(f.sy(d[0]))}" x2="${num(f.sx(d[1]))}" y2="${num(f.sy(d[1]))}" stroke="#999" stroke-dasharray="4 3"/>`);
  o.points.forEach((p, i) => {
    const jitter = o.jitter ? ((((i + 1) * 0.6180339887) % 1) - 0.5) * 2 * o.jitter : 0;
    const yJitter = o.yJitter ? ((((i + 1) * 0.7548776662) % 1) - 0.5) * 2 * o.yJitter : 0;
    const color = PALETTE[groups.indexOf(p.group ?? '') % PALETTE.length]!;
    parts.push(`<circle cx="${num(f.sx(p.x + jitter))}" cy="${num(f.sy(p.y + yJitter))}" r="4" fill="${color}" fill-opacity="0.65" stroke="${color}"/>`);
  });
  if (legendRight) parts.push(legend(groups.map((g, i) => ({ name: g, color: PALETTE[i % PALETTE.length]! })), f.x0 + f.w + 14, f.y0 + 8));
  return svgDocument(width, height, parts.join('\n'));
}

export interface HeatmapOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  matrix: number[][];
  rowLabels: string[];
  colLabels: string[];
  width?: number;
  height?: number;
}

/** Cells shaded by value / row total (so rows of different sizes compare), annotated with counts. */
export function heatmap(o: HeatmapOptions): string {
  const rows = o.matrix.length;
  const cols = o.matrix[0]?.length ?? 0;
  const x0 = 70;
  const y0 = 44;
  const fit = o.width !== undefined || o.height !== undefined
    ? Math.min(o.width !== undefined ? (o.width - x0 - 20) / Math.max(cols, 1) : Infinity, o.height !== undefined ? (o.height - y0 - 52) / Math.max(rows, 1) : Infinity)
    : 320 / Math.max(rows, cols, 1);
  const cell = Math.max(14, Math.min(56, Math.floor(fit)));
  const width = o.width ?? x0 + cols * cell + 30;
  const height = o.height ?? y0 + rows * cell + 52;
  const parts: string[] = [`<text x="${num(width / 2)}" y="22" font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(o.title)}</text>`];
  o.matrix.forEach((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((v, c) => {
      const share = total > 0 ? v / total : 0;
      const shade = Math.round(255 - share * 200);
      const fill = `rgb(${shade},${Math.round(255 - share * 130)},255)`;
      const x = x0 + c * cell;
      const y = y0 + r * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff"/>`);
      parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2}" font-size="11" text-anchor="middle" dominant-baseline="middle" fill="${share > 0.6 ? '#fff' : '#222'}">${v}</text>`);
    });
    parts.push(`<text x="${x0 - 6}" y="${y0 + r * cell + cell / 2}" font-size="11" text-anchor="end" dominant-baseline="middle">${escapeXml(o.rowLabels[r] ?? String(r))}</text>`);
  });
  for (let c = 0; c < cols; c++) parts.push(`<text x="${x0 + c * cell + cell / 2}" y="${y0 + rows * cell + 15}" font-size="11" text-anchor="middle">${escapeXml(o.colLabels[c] ?? String(c))}</text>`);
  parts.push(`<text x="${x0 + (cols * cell) / 2}" y="${y0 + rows * cell + 36}" font-size="12" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text x="16" y="${y0 + (rows * cell) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${y0 + (rows * cell) / 2})">${escapeXml(o.yLabel)}</text>`);
  return svgDocument(width, height, parts.join('\n'));
}

function sizeOf(svg: string): { w: number; h: number } {
  const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  return { w: m ? Number(m[1]) : 640, h: m ? Number(m[2]) : 400 };
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  /** One bar per label (top to bottom). */
  labels: string[];
  values: number[];
  /** Half-length of each error bar (e.g. the std over seeds); omitted or 0: none. */
  errors?: number[];
  /** Bars drawn in this color (default PALETTE[0]); the first bar (the reference) in `firstColor`. */
  color?: string;
  firstColor?: string;
  /** A dashed vertical line at this value (e.g. the reference's value, or a baseline). */
  reference?: { value: number; label: string };
  width?: number;
}

/** Horizontal bars with optional error bars (ablation tables: one bar per variant). */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 560;
  const rowH = 24;
  const left = 190;
  const right = 30;
  const top = 40;
  const h = o.labels.length * rowH;
  const height = top + h + 52;
  const ends = o.values.flatMap((v, i) => [v - (o.errors?.[i] ?? 0), v + (o.errors?.[i] ?? 0)]).filter(Number.isFinite);
  if (o.reference) ends.push(o.reference.value);
  const ticks = niceTicks(Math.min(0, ...ends), Math.max(0, ...ends), 5);
  const [xa, xb] = [ticks[0]!, ticks[ticks.length - 1]!];
  const w = width - left - right;
  const sx = (v: number): number => left + ((v - xa) / (xb - xa || 1)) * w;
  const parts: string[] = [`<text x="${num(left + w / 2)}" y="22" font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(o.title)}</text>`];
  for (const t of ticks) {
    const x = num(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${top + h}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x}" y="${top + h + 17}" font-size="11" text-anchor="middle">${escapeXml(fmt(t))}</text>`);
  }
  o.labels.forEach((label, i) => {
    const v = o.values[i]!;
    const y = top + i * rowH;
    const color = i === 0 && o.firstColor ? o.firstColor : (o.color ?? PALETTE[0]!);
    const name = label.length > 30 ? `${label.slice(0, 29)}…` : label;
    parts.push(`<text x="${left - 8}" y="${num(y + rowH / 2)}" font-size="11" text-anchor="end" dominant-baseline="middle">${escapeXml(name)}</text>`);
    if (!Number.isFinite(v)) return;
    const [x0, x1] = [sx(Math.min(0, v)), sx(Math.max(0, v))];
    parts.push(`<rect x="${num(x0)}" y="${num(y + 4)}" width="${num(Math.max(1, x1 - x0))}" height="${rowH - 8}" fill="${color}" fill-opacity="0.8"/>`);
    const e = o.errors?.[i] ?? 0;
    if (e > 0) {
      const yc = num(y + rowH / 2);
      parts.push(`<line x1="${num(sx(v - e))}" x2="${num(sx(v + e))}" y1="${yc}" y2="${yc}" stroke="#222" stroke-width="1.5"/>`);
      for (const xe of [v - e, v + e]) parts.push(`<line x1="${num(sx(xe))}" x2="${num(sx(xe))}" y1="${num(y + 7)}" y2="${num(y + rowH - 7)}" stroke="#222" stroke-width="1.5"/>`);
    }
  });
  if (o.reference) {
    const x = num(sx(o.reference.value));
    parts.push(`<line x1="${x}" x2="${x}" y1="${top - 4}" y2="${top + h}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="5 3"/>`);
    parts.push(`<text x="${x}" y="${top + h + 32}" font-size="10" fill="#d62728" text-anchor="middle">${escapeXml(o.reference.label)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${num(w)}" height="${h}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${num(left + w / 2)}" y="${top + h + 46}" font-size="12" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  return svgDocument(width, height, parts.join('\n'));
}

/** Several charts in one figure, `columns` per row, with an optional overall title. */
export function chartGrid(charts: string[], columns: number, title?: string): string {
  const sizes = charts.map(sizeOf);
  const cellW = Math.max(...sizes.map((s) => s.w), 1);
  const cellH = Math.max(...sizes.map((s) => s.h), 1);
  const top = title ? 34 : 0;
  const cols = Math.max(1, Math.min(columns, charts.length));
  const rowsN = Math.ceil(charts.length / cols);
  const parts: string[] = [];
  if (title) parts.push(`<text x="${(cols * cellW) / 2}" y="24" font-size="17" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>`);
  charts.forEach((svg, i) => {
    const x = (i % cols) * cellW;
    const y = top + Math.floor(i / cols) * cellH;
    const inner = svg.replace(/^<svg /, `<svg x="${x}" y="${y}" `);
    parts.push(inner);
  });
  return svgDocument(cols * cellW, top + rowsN * cellH, parts.join('\n'));
}
