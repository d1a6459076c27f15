/** A small hand-drawn SVG chart: training loss per step (left axis) and validation SRCC per epoch (right axis, -1..1). */

const NS = 'http://www.w3.org/2000/svg';
const W = 720;
const H = 320;
const M = { left: 52, right: 52, top: 30, bottom: 36 };

export interface ChartData {
  /** loss at step i+1 */
  loss: number[];
  /** SRCC measured after `step` steps */
  srcc: { step: number; value: number }[];
  /** planned number of steps (x-axis extent) */
  totalSteps: number;
}

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** "Nice" tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(2);
}

export class TrainingChart {
  private readonly svg: SVGSVGElement;

  constructor(private readonly host: HTMLElement) {
    this.svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc' });
    host.replaceChildren(this.svg);
    this.render({ loss: [], srcc: [], totalSteps: 0 });
  }

  render(d: ChartData): void {
    const svg = this.svg;
    svg.replaceChildren();
    const last = d.loss.length ? d.loss[d.loss.length - 1]! : undefined;
    const lastS = d.srcc.length ? d.srcc[d.srcc.length - 1]! : undefined;
    svg.append(el('title', { id: 'chart-title' }, 'Training loss and validation SRCC'));
    svg.append(
      el(
        'desc',
        { id: 'chart-desc' },
        d.loss.length === 0
          ? 'No training yet.'
          : `${d.loss.length} of ${d.totalSteps} steps. Latest loss ${last!.toFixed(4)}, first ${d.loss[0]!.toFixed(4)}.` +
              (lastS ? ` Validation SRCC ${lastS.value.toFixed(3)} after step ${lastS.step}.` : ''),
      ),
    );
    const x0 = M.left;
    const x1 = W - M.right;
    const y0 = H - M.bottom;
    const y1 = M.top;
    const steps = Math.max(d.totalSteps, d.loss.length, 1);
    const finite = d.loss.filter(Number.isFinite);
    const lMax = finite.length ? Math.max(...finite) * 1.05 : 1;
    const lMin = finite.length ? Math.min(0, Math.min(...finite)) : 0;
    const sx = (s: number) => x0 + ((x1 - x0) * s) / steps;
    const sl = (v: number) => y0 - ((y0 - y1) * (v - lMin)) / (lMax - lMin || 1);
    const ss = (v: number) => y0 - ((y0 - y1) * (v + 1)) / 2;

    // grid + left axis (loss)
    const lt = ticks(lMin, lMax, 5);
    for (const v of lt) {
      svg.append(el('line', { class: 'grid', x1: x0, x2: x1, y1: sl(v), y2: sl(v) }));
      svg.append(el('text', { x: x0 - 6, y: sl(v) + 4, 'text-anchor': 'end' }, fmt(v)));
    }
    // right axis (SRCC)
    for (const v of [-1, -0.5, 0, 0.5, 1]) {
      svg.append(el('text', { x: x1 + 6, y: ss(v) + 4, 'text-anchor': 'start' }, v.toFixed(1)));
    }
    svg.append(el('line', { class: 'axis', x1: x1, x2: x1, y1: y1, y2: y0, 'stroke-dasharray': '2 3' }));
    svg.append(el('line', { class: 'axis', x1: x0, x2: x0, y1: y1, y2: y0 }));
    svg.append(el('line', { class: 'axis', x1: x0, x2: x1, y1: y0, y2: y0 }));
    for (const v of ticks(0, steps, Math.min(6, steps))) {
      if (v > steps || !Number.isInteger(v)) continue;
      svg.append(el('line', { class: 'axis', x1: sx(v), x2: sx(v), y1: y0, y2: y0 + 4 }));
      svg.append(el('text', { x: sx(v), y: y0 + 16, 'text-anchor': 'middle' }, String(v)));
    }
    svg.append(el('text', { x: (x0 + x1) / 2, y: H - 4, 'text-anchor': 'middle' }, 'training step'));
    svg.append(el('text', { x: 14, y: (y0 + y1) / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${(y0 + y1) / 2})` }, 'loss'));
    svg.append(el('text', { x: W - 12, y: (y0 + y1) / 2, 'text-anchor': 'middle', transform: `rotate(90 ${W - 12} ${(y0 + y1) / 2})` }, 'SRCC'));

    if (d.loss.length === 0) {
      svg.append(el('text', { class: 'empty', x: (x0 + x1) / 2, y: (y0 + y1) / 2, 'text-anchor': 'middle' }, 'Press “Generate & train” to start.'));
    } else {
      const pts = d.loss.map((v, i) => `${sx(i + 1).toFixed(1)},${sl(Number.isFinite(v) ? v : lMax).toFixed(1)}`);
      svg.append(el('polyline', { class: 'loss', points: pts.join(' ') }));
      // The latest value as a dot (also visible while there is only one point).
      const [cx, cy] = pts[pts.length - 1]!.split(',');
      svg.append(el('circle', { class: 'loss-dot', cx: cx!, cy: cy!, r: 3 }));
    }
    if (d.srcc.length) {
      svg.append(el('polyline', { class: 'srcc', points: d.srcc.map((p) => `${sx(p.step).toFixed(1)},${ss(p.value).toFixed(1)}`).join(' ') }));
      for (const p of d.srcc) svg.append(el('circle', { class: 'srcc-dot', cx: sx(p.step), cy: ss(p.value), r: 3.2 }));
    }

    // legend
    const g = el('g', { class: 'legend', transform: `translate(${x0 + 8}, 14)` });
    g.append(el('line', { class: 'loss', x1: 0, x2: 22, y1: 0, y2: 0 }));
    g.append(el('text', { x: 28, y: 4 }, `loss${last !== undefined ? ` ${last.toFixed(3)}` : ''}`));
    g.append(el('line', { class: 'srcc', x1: 140, x2: 162, y1: 0, y2: 0 }));
    g.append(el('circle', { class: 'srcc-dot', cx: 151, cy: 0, r: 3.2 }));
    g.append(el('text', { x: 168, y: 4 }, `validation SRCC${lastS ? ` ${lastS.value.toFixed(3)}` : ''}`));
    svg.append(g);
    this.host.dataset.steps = String(d.loss.length);
    this.host.dataset.srccPoints = String(d.srcc.length);
  }
}
