/**
 * summary(): a table of parameters and FLOPs per sample per top-level module, at given input
 * sizes (default the paper's: 10 clips, 16 frames per clip, 103 CLIP frames). FLOPs count a
 * multiply-add as 2 and cover the model only (the frozen VST / I3D / CLIP backbones that
 * produce its input features are not part of it, as the paper's "extra parameters").
 */
import { ModuleDict, ModuleList, type Module } from '../nn/module.js';
import type { FlopContext } from './blocks.js';
import type { ResolvedConfig } from './config.js';

export interface SummaryOptions {
  clips?: number;
  /** Skeleton (graph stream) frames per clip (default 16). */
  framesPerClip?: number;
  /** CLIP image frames (default 103). */
  imageFrames?: number;
}

export interface SummaryRow {
  module: string;
  type: string;
  params: number;
  trainable: number;
  flops: number;
}

export interface ModelSummary {
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  /** FLOPs for one sample's forward. */
  flopsPerSample: number;
  /** The paper's reference numbers (extra parameters of DualAlign, inference time per sample on an RTX 3090). */
  paper: { extraParams: number; inferenceMsPerSample: number; gflops: number };
  context: FlopContext;
  /** The table as text. */
  text: string;
  toString(): string;
}

interface SummarizableModel extends Module {
  config: ResolvedConfig;
  flopsByModule(ctx: FlopContext): Record<string, number>;
}

export function flopContext(config: ResolvedConfig, opts: SummaryOptions = {}): FlopContext {
  const clips = opts.clips ?? config.clips ?? 10;
  const fpc = opts.framesPerClip ?? 16;
  const lengths: Record<string, number> = {};
  for (const s of config.streams) lengths[s.name] = s.kind === 'graph' ? clips * fpc : clips;
  if (config.image) lengths[config.image.name] = opts.imageFrames ?? 103;
  if (config.text) lengths[config.text.name] = 1;
  return { clips, lengths };
}

function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

export function buildSummary(model: SummarizableModel, opts: SummaryOptions = {}): ModelSummary {
  const ctx = flopContext(model.config, opts);
  const flops = model.flopsByModule(ctx);
  const rows: SummaryRow[] = [];
  const seen = new Set<string>();
  const add = (name: string, m: Module | null) => {
    const params = m ? m.parameters() : [];
    rows.push({
      module: name,
      type: m ? m.constructor.name.replace(/^_+/, '') : '-',
      params: params.reduce((s, t) => s + t.size, 0),
      trainable: params.filter((t) => t.requiresGrad).reduce((s, t) => s + t.size, 0),
      flops: flops[name] ?? 0,
    });
    seen.add(name);
  };
  for (const [name, child] of model.namedChildren()) {
    const sub = child.namedChildren();
    // Containers (encoders, fusion, ...) are listed per item.
    if ((child instanceof ModuleDict || child instanceof ModuleList) && name !== 'oneStage' && name !== 'alignProj') {
      for (const [n, m] of sub) add(`${name}.${n}`, m);
    } else add(name, child);
  }
  // Parameters registered on the model itself (e.g. the text placeholder).
  const own = model.namedParameters().filter(([n]) => !n.includes('.'));
  if (own.length) {
    rows.push({
      module: own.map(([n]) => n).join(', '),
      type: 'Parameter',
      params: own.reduce((s, [, t]) => s + t.size, 0),
      trainable: own.filter(([, t]) => t.requiresGrad).reduce((s, [, t]) => s + t.size, 0),
      flops: 0,
    });
  }
  for (const [name, f] of Object.entries(flops)) if (!seen.has(name) && f > 0) rows.push({ module: name, type: '-', params: 0, trainable: 0, flops: f });
  const totalParams = model.paramCount();
  const trainableParams = model.paramCount({ trainableOnly: true });
  const flopsPerSample = rows.reduce((s, r) => s + r.flops, 0);
  const w = Math.max(8, ...rows.map((r) => r.module.length));
  const tw = Math.max(6, ...rows.map((r) => r.type.length));
  const line = (a: string, b: string, c: string, d: string, e: string) => `${a.padEnd(w)}  ${b.padEnd(tw)}  ${c.padStart(10)}  ${d.padStart(10)}  ${e.padStart(12)}`;
  const lines = [
    line('module', 'type', 'params', 'trainable', 'FLOPs/sample'),
    '-'.repeat(w + tw + 40),
    ...rows.map((r) => line(r.module, r.type, fmtCount(r.params), fmtCount(r.trainable), fmtCount(r.flops))),
    '-'.repeat(w + tw + 40),
    line('total', '', fmtCount(totalParams), fmtCount(trainableParams), fmtCount(flopsPerSample)),
    `inputs per sample: ${ctx.clips} clips; ${Object.entries(ctx.lengths)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `paper (RTX 3090): 12.56 M extra parameters, 528 ms inference per sample, 1115.3 GFLOPs with the backbones`,
  ];
  const text = lines.join('\n');
  return {
    rows,
    totalParams,
    trainableParams,
    flopsPerSample,
    paper: { extraParams: 12.56e6, inferenceMsPerSample: 528, gflops: 1115.3 },
    context: ctx,
    text,
    toString: () => text,
  };
}
