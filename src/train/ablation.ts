/**
 * `dualalign ablate`: the drop-one ablations of Table 6 (and, on request, the fusion variants of
 * Fig. 9), each trained like the full model on the same data and splits, repeated over seeds.
 * Writes <runDir>/ablation.json, ablation.md (mean ± std over seeds, the change against the full
 * model, and the paper's Table 6 value beside it) and plots/ablation.svg/.png.
 *
 * A variant is a set of DualAlign config overrides (see src/models/config.ts): `alignment`
 * (none / cosine / one-stage-gram / vfs-only / vit-only), `removeModalities`, `fusionMode`,
 * `order`. Every variant gets the same training budget and model selection as the full model.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/types.js';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.node.js';
import { writeFigure } from '../report/png.js';
import { meanStd, protocolNote } from '../report/report.js';
import { barChart, chartGrid } from '../report/svg.js';
import { runExperiment, type ExperimentOptions } from './experiment.js';
import { describeSelection } from './trainer.js';

export interface AblationVariant {
  /** Folder-safe key (also what --variants takes). */
  name: string;
  label: string;
  overrides: Record<string, unknown>;
  /** Table 6 / Fig. 9 of the paper: avg SRCC×100, rMSE, Acc on MM-JDM (undefined: not in the paper). */
  paper?: { srcc: number; relativeMSE: number; accuracy: number };
}

const PAPER_FULL = { srcc: 85.44, relativeMSE: 2.363, accuracy: 87.41 };

/** The Table 6 rows (drop-one: each removes one component from the full model). */
export function ablationVariants(modalities: readonly string[]): AblationVariant[] {
  const paperWithout: Record<string, AblationVariant['paper']> = {
    text: { srcc: 74.5, relativeMSE: 6.508, accuracy: 74.76 },
    video: { srcc: 46.91, relativeMSE: 6.782, accuracy: 66.95 },
    flow: { srcc: 63.67, relativeMSE: 5.155, accuracy: 78.84 },
    skeleton: { srcc: 60.66, relativeMSE: 5.244, accuracy: 75.78 },
  };
  return [
    { name: 'full', label: 'two-stage GRAM (full model)', overrides: {}, paper: PAPER_FULL },
    { name: 'no-alignment', label: 'no alignment (λ terms off)', overrides: { alignment: 'none' }, paper: { srcc: 63.82, relativeMSE: 5.166, accuracy: 77.86 } },
    { name: 'cosine', label: 'cosine instead of GRAM', overrides: { alignment: 'cosine' }, paper: { srcc: 61.48, relativeMSE: 5.225, accuracy: 78.17 } },
    { name: 'one-stage-gram', label: 'one-stage GRAM', overrides: { alignment: 'one-stage-gram' }, paper: { srcc: 60.55, relativeMSE: 4.819, accuracy: 77.97 } },
    { name: 'vfs-only', label: 'L_vfs only (w/o L_vit)', overrides: { alignment: 'vfs-only' }, paper: { srcc: 62.38, relativeMSE: 4.958, accuracy: 77.54 } },
    { name: 'vit-only', label: 'L_vit only (w/o L_vfs)', overrides: { alignment: 'vit-only' }, paper: { srcc: 62.77, relativeMSE: 4.858, accuracy: 78.47 } },
    ...modalities.map((m) => ({ name: `without-${m}`, label: `w/o ${m}`, overrides: { removeModalities: [m] }, paper: paperWithout[m] })),
  ];
}

/** Fig. 9's fusion variants (one-stage fusions and the reversed order); not run by default. */
export function fusionVariants(): AblationVariant[] {
  return [
    { name: 'fusion-concat', label: '1s concatenation', overrides: { fusionMode: 'concat', alignment: 'none' } },
    { name: 'fusion-add', label: '1s addition', overrides: { fusionMode: 'add', alignment: 'none' } },
    { name: 'fusion-cross-attention', label: '1s cross-attention', overrides: { fusionMode: 'cross-attention', alignment: 'none' } },
    { name: 'text-first', label: 'RV (text fused first)', overrides: { order: 'text-first' }, paper: { srcc: 73.12, relativeMSE: 3.487, accuracy: 82.35 } },
  ];
}

export function selectVariants(modalities: readonly string[], names?: readonly string[]): AblationVariant[] {
  const all = [...ablationVariants(modalities), ...fusionVariants()];
  if (!names || names.length === 0) return ablationVariants(modalities);
  return names.map((n) => {
    const v = all.find((x) => x.name === n);
    if (!v) throw new Error(`unknown ablation variant '${n}' (known: ${all.map((x) => x.name).join(', ')})`);
    return v;
  });
}

export interface AblationOptions extends Omit<ExperimentOptions, 'seed' | 'baselines' | 'plots' | 'keepModels' | 'name' | 'runDir'> {
  name: string;
  runDir: string;
  seeds: number[];
  variants: AblationVariant[];
  /** The data of each seed (e.g. regenerated synthetic data); default opts.dataset. */
  datasetFor?: (seed: number) => Dataset;
  onVariant?: (variant: AblationVariant, seed: number, done: number, total: number) => void;
}

export interface AblationRow {
  variant: string;
  label: string;
  overrides: Record<string, unknown>;
  /** Average over actions, one value per seed. */
  srcc: number[];
  relativeMSE: number[];
  accuracy: number[];
  seconds: number[];
  paper?: AblationVariant['paper'];
}

export interface AblationSummary {
  name: string;
  seeds: number[];
  actions: string[];
  model: string;
  protocol: string;
  select: string;
  rows: AblationRow[];
}

export async function runAblation(opts: AblationOptions): Promise<{ summary: AblationSummary; files: string[] }> {
  if (opts.variants.length === 0) throw new Error('ablate: no variants');
  if (opts.kit.name !== 'dualalign') throw new Error(`ablate: the variants are DualAlign configurations; got model '${opts.kit.name}'`);
  const rows: AblationRow[] = opts.variants.map((v) => ({ variant: v.name, label: v.label, overrides: v.overrides, srcc: [], relativeMSE: [], accuracy: [], seconds: [], paper: v.paper }));
  const total = opts.seeds.length * opts.variants.length;
  let done = 0;
  let model = '';
  let actions: string[] = [];
  const select = opts.select ?? 'validation';
  for (const seed of opts.seeds) {
    const dataset = opts.datasetFor ? opts.datasetFor(seed) : opts.dataset;
    for (const [i, v] of opts.variants.entries()) {
      opts.onVariant?.(v, seed, done, total);
      const { summary } = await runExperiment({
        ...opts,
        dataset,
        seed,
        name: `${opts.name} ${v.name} seed ${seed}`,
        runDir: join(opts.runDir, 'variants', v.name, `seed-${seed}`),
        modelOverrides: { ...(opts.modelOverrides ?? {}), ...v.overrides },
        baselines: false,
        plots: false,
      });
      // The description without the grade count, which differs per action.
      if (v.name === 'full' || !model) model = summary.model.replace(/ G=\d+/, '');
      actions = summary.actions.map((a) => a.action.id);
      rows[i]!.srcc.push(summary.average.srcc);
      rows[i]!.relativeMSE.push(summary.average.relativeMSE);
      rows[i]!.accuracy.push(summary.average.accuracy);
      rows[i]!.seconds.push(summary.seconds);
      done++;
    }
  }
  const summary: AblationSummary = { name: opts.name, seeds: opts.seeds, actions, model, protocol: describeSelection(select, opts.validationFraction), select, rows };
  mkdirSync(join(opts.runDir, 'plots'), { recursive: true });
  const json = join(opts.runDir, 'ablation.json');
  writeJsonAtomic(json, summary);
  const md = join(opts.runDir, 'ablation.md');
  writeFileAtomic(md, `# ${opts.name}\n\n${ablationMarkdown(summary)}`);
  return { summary, files: [json, md, ...writeFigure(join(opts.runDir, 'plots', 'ablation'), ablationSvg(summary))] };
}

const pct = (x: number, ref: number): string => (ref !== 0 && Number.isFinite(x) ? `${x >= ref ? '+' : '−'}${Math.abs(((x - ref) / Math.abs(ref)) * 100).toFixed(0)} %` : '–');

export function ablationMarkdown(s: AblationSummary): string {
  const full = s.rows.find((r) => r.variant === 'full');
  const ref = full ? { srcc: meanStd(full.srcc).mean * 100, relativeMSE: meanStd(full.relativeMSE).mean, accuracy: meanStd(full.accuracy).mean } : undefined;
  const lines = [
    `### Ablations (Table 6), average over actions ${s.actions.join(', ')}; mean ± std over ${s.seeds.length} seed${s.seeds.length === 1 ? '' : 's'} (${s.seeds.join(', ')})`,
    '',
    `Model: ${s.model}.`,
    '',
    '| Variant | SRCC×100 ↑ | Δ vs full | rMSE ↓ | Δ vs full | Acc. % ↑ | Δ vs full | paper SRCC×100 (Δ) | paper rMSE (Δ) | paper Acc. (Δ) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of s.rows) {
    const sr = meanStd(r.srcc.map((v) => v * 100));
    const rm = meanStd(r.relativeMSE);
    const ac = meanStd(r.accuracy);
    const p = r.paper;
    const isFull = r.variant === 'full';
    lines.push(
      `| ${r.label} | ${sr.mean.toFixed(1)} ± ${sr.std.toFixed(1)} | ${isFull || !ref ? '' : pct(sr.mean, ref.srcc)} | ${rm.mean.toFixed(3)} ± ${rm.std.toFixed(3)} | ${isFull || !ref ? '' : pct(rm.mean, ref.relativeMSE)} | ${ac.mean.toFixed(1)} ± ${ac.std.toFixed(1)} | ${isFull || !ref ? '' : pct(ac.mean, ref.accuracy)} | ` +
        (p ? `${p.srcc.toFixed(2)}${isFull ? '' : ` (${pct(p.srcc, PAPER_FULL.srcc)})`} | ${p.relativeMSE.toFixed(3)}${isFull ? '' : ` (${pct(p.relativeMSE, PAPER_FULL.relativeMSE)})`} | ${p.accuracy.toFixed(2)}${isFull ? '' : ` (${pct(p.accuracy, PAPER_FULL.accuracy)})`} |` : '– | – | – |'),
    );
  }
  lines.push('', protocolNote('Every variant', s.select as 'validation', s.protocol, { baselines: false }), 'Paper: Table 6 / Fig. 9 on MM-JDM (real features, full sizes); Δ is relative to the full model in each. The ± is the sample std over seeds; a difference smaller than it is not evidence either way.');
  return `${lines.join('\n')}\n`;
}

export function ablationSvg(s: AblationSummary): string {
  const labels = s.rows.map((r) => r.label);
  const chart = (title: string, xLabel: string, pick: (r: AblationRow) => number[], scale: number): string => {
    const stats = s.rows.map((r) => meanStd(pick(r).map((v) => v * scale)));
    const full = s.rows.findIndex((r) => r.variant === 'full');
    return barChart({
      title,
      xLabel,
      labels,
      values: stats.map((m) => m.mean),
      errors: stats.map((m) => m.std),
      firstColor: '#d62728',
      ...(full >= 0 ? { reference: { value: stats[full]!.mean, label: 'full model' } } : {}),
      width: 520,
    });
  };
  return chartGrid(
    [chart('(a) SRCC ×100 ↑', 'SRCC ×100', (r) => r.srcc, 100), chart('(b) rMSE ↓', 'rMSE', (r) => r.relativeMSE, 1), chart('(c) Accuracy (%) ↑', 'accuracy %', (r) => r.accuracy, 1)],
    3,
    `Ablations (cf. Table 6 / Fig. 10), mean ± std over ${s.seeds.length} seed${s.seeds.length === 1 ? '' : 's'} — ${s.name}`,
  );
}
