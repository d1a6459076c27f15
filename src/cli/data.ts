/**
 * Dataset loading for the CLI: the plain layout (manifest.csv + <modality>/<id>.npy), an
 * MM-JDM release (label.csv + per-action .npy), UI-PRMD (correct/ incorrect/ CSVs), or the
 * synthetic MM-JDM generated in memory. Every failure becomes a CliError that says what to fix.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadMMJDM } from '../data/mmjdm.node.js';
import { loadPlainDataset } from '../data/plain.node.js';
import { generateSyntheticMMJDM, type SyntheticOptions } from '../data/synthetic.js';
import type { Dataset } from '../data/types.js';
import { loadUIPRMD } from '../data/uiprmd.node.js';
import { CliError, EXIT } from './io.js';

export type DataFormat = 'auto' | 'plain' | 'mmjdm' | 'uiprmd';

export function detectFormat(dir: string): Exclude<DataFormat, 'auto'> | null {
  if (existsSync(join(dir, 'manifest.csv')) || existsSync(join(dir, 'manifest.json'))) return 'plain';
  if (existsSync(join(dir, 'label.csv'))) return 'mmjdm';
  if (existsSync(join(dir, 'correct', 'positions'))) return 'uiprmd';
  return null;
}

export interface DataArgs {
  data?: string;
  format?: string;
  synthetic?: boolean;
  seed: number;
  /** Synthetic only: how many actions / which. */
  actions?: string[];
  synth?: Partial<SyntheticOptions>;
  /** UI-PRMD: resample every repetition to this many frames. */
  frames?: number;
}

export function loadDataset(args: DataArgs): { dataset: Dataset; source: string; format: string } {
  if (args.synthetic || !args.data) {
    if (!args.synthetic && !args.data) {
      throw new CliError('no data given', EXIT.usage, 'pass --data <folder> (a dataset folder) or --synthetic (generate the synthetic MM-JDM in memory)');
    }
    const dataset = generateSyntheticMMJDM({ seed: args.seed, ...(args.synth ?? {}) });
    return { dataset, source: 'synthetic MM-JDM (in memory)', format: 'synthetic' };
  }
  const dir = resolve(args.data);
  if (!existsSync(dir)) {
    throw new CliError(`data folder not found: ${dir}`, EXIT.data, `check the path, or create a synthetic dataset there with: dualalign synth --out ${args.data}`);
  }
  if (!statSync(dir).isDirectory()) throw new CliError(`--data must be a folder, but ${dir} is a file`, EXIT.data, 'pass the folder that holds manifest.csv (plain layout), label.csv (MM-JDM) or correct/ and incorrect/ (UI-PRMD)');
  const format = (args.format ?? 'auto') as DataFormat;
  if (!['auto', 'plain', 'mmjdm', 'uiprmd'].includes(format)) throw new CliError(`unknown --format '${args.format}'`, EXIT.usage, 'use one of: auto, plain, mmjdm, uiprmd');
  const resolved = format === 'auto' ? detectFormat(dir) : format;
  if (!resolved) {
    throw new CliError(
      `${dir} is not a dataset folder: it has no manifest.csv / manifest.json (plain layout), label.csv (MM-JDM release) or correct/positions (UI-PRMD)`,
      EXIT.data,
      `write one with: dualalign synth --out ${args.data}, or pass --format`,
    );
  }
  try {
    let dataset: Dataset;
    if (resolved === 'plain') dataset = loadPlainDataset(dir);
    else if (resolved === 'mmjdm') dataset = loadMMJDM(dir, args.actions ? { actions: args.actions } : {});
    else dataset = loadUIPRMD(dir, { maxFramesResample: args.frames ?? 100 });
    if (dataset.samples.length === 0) throw new CliError(`${dir}: the dataset has no samples`, EXIT.data, 'check the manifest / label file');
    return { dataset, source: dir, format: resolved };
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`could not read the dataset in ${dir}: ${(error as Error).message}`, EXIT.data, 'fix or remove the file named above (a corrupt, truncated or mis-shaped feature file), then run again');
  }
}
