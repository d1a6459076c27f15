/**
 * Helpers every loader shares: the load summary, action ranges derived from grades,
 * feature-array checks, and the file-source abstraction that lets one loader read from
 * the file system (Node) or from memory (browser, tests).
 */
import { type NdArrayLike, describeShape, toFloat32Array } from './ndarray.js';
import type { ActionInfo, Dataset, FeatureArray, LoadSummary, Sample } from './types.js';

/** Read-only view of a dataset folder. Paths are relative, '/'-separated. */
export interface DatasetFileSource {
  /** How the root is named in messages (e.g. its path). */
  readonly root: string;
  /** The bytes of a file, or undefined when it does not exist. */
  read(path: string): Uint8Array | undefined;
  /** Entry names in a directory ([] when it does not exist). */
  list(dir: string): string[];
  isDirectory(path: string): boolean;
}

/** A DatasetFileSource over an in-memory map of path -> bytes (directories are implied). */
export function memoryFileSource(files: ReadonlyMap<string, Uint8Array>, root = '<memory>'): DatasetFileSource {
  const normalize = (path: string): string => path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  return {
    root,
    read: (path) => files.get(normalize(path)),
    list(dir) {
      const prefix = normalize(dir) === '' ? '' : `${normalize(dir)}/`;
      const names = new Set<string>();
      for (const key of files.keys()) {
        if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split('/')[0]!);
      }
      return [...names].sort();
    },
    isDirectory(path) {
      const prefix = `${normalize(path)}/`;
      for (const key of files.keys()) if (key.startsWith(prefix)) return true;
      return false;
    },
  };
}

/** Counts per action and missing modalities; `warnings` are passed through. */
export function buildSummary(samples: readonly Sample[], modalities: readonly string[], warnings: string[] = []): LoadSummary {
  const perAction: Record<string, number> = {};
  const missingModalities: Record<string, number> = {};
  for (const modality of modalities) missingModalities[modality] = 0;
  for (const sample of samples) {
    perAction[sample.action] = (perAction[sample.action] ?? 0) + 1;
    for (const modality of modalities) {
      if (sample.modalities[modality] === undefined) missingModalities[modality]!++;
    }
  }
  return { loaded: samples.length, perAction, missingModalities, warnings };
}

/** ActionInfo for each action in order of first appearance, with the grade range observed. */
export function deriveActions(samples: readonly Sample[]): ActionInfo[] {
  const ranges = new Map<string, { min: number; max: number }>();
  for (const sample of samples) {
    const range = ranges.get(sample.action) ?? { min: Infinity, max: -Infinity };
    if (sample.grade !== undefined) {
      range.min = Math.min(range.min, sample.grade);
      range.max = Math.max(range.max, sample.grade);
    }
    ranges.set(sample.action, range);
  }
  return [...ranges].map(([id, { min, max }]) => {
    const minGrade = Number.isFinite(min) ? min : 0;
    const maxGrade = Number.isFinite(max) ? max : 0;
    return { id, name: id, minGrade, maxGrade, numGrades: maxGrade - minGrade + 1 };
  });
}

export function makeDataset(samples: Sample[], actions: ActionInfo[], modalities: string[], warnings: string[] = []): Dataset {
  return { samples, actions, modalities, summary: buildSummary(samples, modalities, warnings) };
}

/** A float32 FeatureArray from any numeric array; non-finite values are rejected as corrupt. */
export function toFeatureArray(arr: NdArrayLike, what: string): FeatureArray {
  const data = toFloat32Array(arr);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new Error(`${what}: value ${data[i]} at flat index ${i} is not finite`);
  }
  return { data: data === arr.data ? data.slice() : data, shape: [...arr.shape] };
}

/**
 * Tracks the shape each modality has so a file that disagrees is reported. The first
 * axis (time) may vary between samples; the rank and the other axes may not. A rank-1
 * modality (e.g. text [512]) must match exactly.
 */
export class ModalityShapeCheck {
  private readonly reference = new Map<string, { shape: number[]; source: string }>();

  check(modality: string, shape: readonly number[], source: string): void {
    const ref = this.reference.get(modality);
    if (!ref) {
      this.reference.set(modality, { shape: [...shape], source });
      return;
    }
    const fixedFrom = shape.length === 1 ? 0 : 1;
    const same = ref.shape.length === shape.length && shape.every((d, i) => i < fixedFrom || d === ref.shape[i]);
    if (!same) {
      const pattern = ref.shape.map((d, i) => (i < fixedFrom ? '*' : String(d))).join(', ');
      throw new Error(`${source}: shape ${describeShape(shape)} does not match ${modality} shape [${pattern}] of ${ref.source}`);
    }
  }
}

/** Sample ids become file names, so they must not be able to escape the modality folder. */
export function assertSafeSampleId(id: string, what: string): void {
  if (id === '' || id === '.' || id === '..' || /[/\\\0]/.test(id) || id.startsWith('.')) {
    throw new Error(`${what}: sample id ${JSON.stringify(id)} cannot be used as a file name`);
  }
}

/** Modality names become folder names in the plain layout. */
export function assertSafeModalityName(name: string, what: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || name.startsWith('.')) {
    throw new Error(`${what}: modality name ${JSON.stringify(name)} cannot be a folder name`);
  }
}
