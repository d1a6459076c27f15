/** Node entry points for the plain layout (see plain.ts for the format). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { directoryFileSource } from './fileSource.node.js';
import { nodeInflateRaw } from './npy.node.js';
import { type PlainLoadOptions, encodePlainDataset, parsePlainDataset } from './plain.js';
import type { Dataset } from './types.js';

export function loadPlainDataset(dir: string, options: PlainLoadOptions = {}): Dataset {
  return parsePlainDataset(directoryFileSource(dir), { inflateRaw: nodeInflateRaw, ...options });
}

/** Writes `dataset` in the plain layout under `dir` (created if needed; existing files are overwritten). */
export function writePlainDataset(dir: string, dataset: Dataset): void {
  mkdirSync(dir, { recursive: true });
  for (const modality of dataset.modalities) mkdirSync(join(dir, modality), { recursive: true });
  for (const [path, bytes] of encodePlainDataset(dataset)) {
    const full = join(dir, ...path.split('/'));
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, bytes);
  }
}
