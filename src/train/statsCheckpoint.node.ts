/**
 * Checkpoints of the baseline kits whose inputs are standardised by training statistics (the
 * pooled MLP, the temporal CNN): the weights and the `featMean` / `featStd` buffers in one
 * safetensors file, the config (without its stats, which the buffers carry) and the run's extra
 * record in the metadata under a format name that load checks.
 */
import { readFileSync } from 'node:fs';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../data/safetensors.js';
import { writeFileAtomic } from '../io/atomic.node.js';
import type { Module } from '../nn/module.js';
import type { AQAModel, LoadedCheckpoint } from './types.js';

type StatsConfig = { stats?: { mean: number[]; std: number[] } };

export async function saveStatsCheckpoint(path: string, format: string, model: Module, config: StatsConfig, extra: Record<string, unknown>): Promise<void> {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of Object.entries(model.stateDict())) tensors[name] = { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(await t.data()) };
  const { stats: _stats, ...rest } = config;
  writeFileAtomic(path, encodeSafetensors(tensors, { format, config: JSON.stringify(rest), extra: JSON.stringify(extra) }));
}

export async function loadStatsCheckpoint<C extends StatsConfig, M extends Module & AQAModel>(path: string, format: string, what: string, make: (config: C) => M): Promise<LoadedCheckpoint<C> & { model: M }> {
  const file = decodeSafetensors(readFileSync(path), path);
  if (file.metadata.format !== format) throw new Error(`${path}: not a ${what} checkpoint (format '${file.metadata.format ?? 'none'}')`);
  const config = JSON.parse(file.metadata.config ?? '{}') as C;
  const mean = file.tensors.featMean;
  const std = file.tensors.featStd;
  if (!mean || !std) throw new Error(`${path}: checkpoint lacks the feature statistics`);
  config.stats = { mean: Array.from(mean.data as Float32Array), std: Array.from(std.data as Float32Array) };
  const model = make(config);
  await model.loadStateDict(Object.fromEntries(Object.entries(file.tensors).map(([k, v]) => [k, { data: v.data as Float32Array, shape: v.shape }])));
  return { model, config, extra: JSON.parse(file.metadata.extra ?? '{}') as Record<string, unknown> };
}
