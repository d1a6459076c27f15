/**
 * Dataset loading for the CLI (src/train/datasets.ts), with every failure turned into a
 * CliError that says what to fix.
 */
import { resolve } from 'node:path';
import type { SyntheticOptions } from '../data/synthetic.js';
import type { Dataset } from '../data/types.js';
import { DataFolderError, loadTrainingData, type DataFormat } from '../train/datasets.js';
import { CliError, EXIT } from './io.js';

export interface DataArgs {
  data?: string;
  format?: string;
  synthetic?: boolean;
  seed: number;
  /** Actions to load (MM-JDM, UI-PRMD) or, for the synthetic data, ids/names or a count. */
  actions?: string[] | number;
  synth?: Partial<SyntheticOptions>;
  /** UI-PRMD: resample every repetition to this many frames. */
  frames?: number;
}

export function loadDataset(args: DataArgs): { dataset: Dataset; source: string; format: string } {
  if (args.synthetic) {
    const { dataset } = loadTrainingData({ synthetic: { seed: args.seed, ...(args.actions !== undefined ? { actions: args.actions } : {}), ...(args.synth ?? {}) } });
    return { dataset, source: 'synthetic MM-JDM (in memory)', format: 'synthetic' };
  }
  if (!args.data) throw new CliError('no data given', EXIT.usage, 'pass --data <folder> (a dataset folder) or --synthetic (generate the synthetic MM-JDM in memory)');
  const format = args.format ?? 'auto';
  if (!['auto', 'plain', 'mmjdm', 'uiprmd'].includes(format)) throw new CliError(`unknown --format '${format}'`, EXIT.usage, 'use one of: auto, plain, mmjdm, uiprmd');
  const dir = resolve(args.data);
  try {
    const { dataset, format: found } = loadTrainingData({ dir, format: format as DataFormat | 'auto', actions: Array.isArray(args.actions) ? args.actions : undefined, frames: args.frames });
    return { dataset, source: dir, format: found };
  } catch (error) {
    if (!(error instanceof DataFolderError)) throw error;
    const hint =
      error.kind === 'missing'
        ? `check the path, or create a synthetic dataset there with: dualalign synth --out ${args.data}`
        : error.kind === 'not-a-dataset'
          ? `write one with: dualalign synth --out ${args.data}, or pass --format plain|mmjdm|uiprmd`
          : 'fix or remove the file named above (a corrupt, truncated or mis-shaped feature file), then run again';
    throw new CliError(error.message, EXIT.data, hint);
  }
}

/** The load summary, for stderr: what was read per action, which modalities some samples lack (masked), and any warnings. */
export function describeLoad(dataset: Dataset, source: string): string {
  const { perAction, missingModalities, warnings } = dataset.summary;
  const actions = Object.entries(perAction).map(([a, n]) => `${a}: ${n}`).join(', ');
  const missing = Object.entries(missingModalities).filter(([, n]) => n > 0).map(([m, n]) => `${m} ${n}`);
  const lines = [`data: ${source} — ${dataset.samples.length} samples (${actions}), modalities ${dataset.modalities.join(', ')}`];
  if (missing.length > 0) lines.push(`  samples without a modality (masked, not dropped): ${missing.join(', ')}`);
  for (const w of warnings) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}
