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
  const files = encodePlainDataset(dataset); // validates ids and modality names first
  mkdirSync(dir, { recursive: true });
  // Every modality gets its folder, even one no sample has, so it is listed when read back.
  for (const modality of dataset.modalities) mkdirSync(join(dir, modality), { recursive: true });
  for (const [path, bytes] of files) {
    const full = join(dir, ...path.split('/'));
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, bytes);
  }
}
