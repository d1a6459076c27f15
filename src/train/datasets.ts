/**
 * One entry point for the data a training run reads (Node): a dataset folder in any supported
 * layout (detected from its files) or the synthetic MM-JDM generated in memory.
 *   plain   manifest.csv / manifest.json + <modality>/<id>.npy|.npz|.safetensors (src/data/plain.ts)
 *   mmjdm   an MM-JDM release: label.csv + per-action feature files (src/data/mmjdm.ts)
 *   uiprmd  UI-PRMD: correct/ and incorrect/ positions + angles CSVs (src/data/uiprmd.ts)
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadMMJDM } from '../data/mmjdm.node.js';
import { loadPlainDataset } from '../data/plain.node.js';
import { generateSyntheticMMJDM, type SyntheticOptions } from '../data/synthetic.js';
import type { Dataset } from '../data/types.js';
import { loadUIPRMD } from '../data/uiprmd.node.js';

export type DataFormat = 'plain' | 'mmjdm' | 'uiprmd';

export interface TrainingDataOptions {
  /** A dataset folder (format detected unless given). */
  dir?: string;
  format?: DataFormat | 'auto';
  /** Generate the synthetic MM-JDM instead (options of generateSyntheticMMJDM). */
  synthetic?: SyntheticOptions;
  /** MM-JDM / UI-PRMD: only these actions (exercises). */
  actions?: string[];
  /** UI-PRMD: resample each repetition to this many frames (default 100). */
  frames?: number;
}

/** The layout of a dataset folder, or null when it is none of the known ones. */
export function detectDataFormat(dir: string): DataFormat | null {
  if (existsSync(join(dir, 'manifest.csv')) || existsSync(join(dir, 'manifest.json'))) return 'plain';
  if (existsSync(join(dir, 'label.csv'))) return 'mmjdm';
  if (existsSync(join(dir, 'correct', 'positions'))) return 'uiprmd';
  return null;
}

export class DataFolderError extends Error {
  override name = 'DataFolderError';
  constructor(
    message: string,
    readonly kind: 'missing' | 'not-a-dataset' | 'unreadable',
  ) {
    super(message);
  }
}

export function loadTrainingData(opts: TrainingDataOptions): { dataset: Dataset; format: DataFormat | 'synthetic' } {
  if (opts.synthetic) return { dataset: generateSyntheticMMJDM(opts.synthetic), format: 'synthetic' };
  if (!opts.dir) throw new Error('loadTrainingData: give dir (a dataset folder) or synthetic options');
  const dir = opts.dir;
  if (!existsSync(dir)) throw new DataFolderError(`data folder not found: ${dir}`, 'missing');
  if (!statSync(dir).isDirectory()) throw new DataFolderError(`${dir} is a file, not a dataset folder`, 'not-a-dataset');
  const format = !opts.format || opts.format === 'auto' ? detectDataFormat(dir) : opts.format;
  if (!format) {
    throw new DataFolderError(
      `${dir} is not a dataset folder: it has no manifest.csv / manifest.json (plain layout), label.csv (MM-JDM release) or correct/positions (UI-PRMD)`,
      'not-a-dataset',
    );
  }
  let dataset: Dataset;
  try {
    if (format === 'plain') dataset = loadPlainDataset(dir);
    else if (format === 'mmjdm') dataset = loadMMJDM(dir, opts.actions ? { actions: opts.actions } : {});
    else dataset = loadUIPRMD(dir, { maxFramesResample: opts.frames ?? 100, ...(opts.actions ? { exercises: opts.actions } : {}) });
  } catch (error) {
    throw new DataFolderError(`could not read the dataset in ${dir}: ${(error as Error).message}`, 'unreadable');
  }
  if (dataset.samples.length === 0) throw new DataFolderError(`${dir}: the dataset has no samples`, 'unreadable');
  return { dataset, format };
}
