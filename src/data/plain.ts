/**
 * The plain dataset layout, the project's own interchange format:
 *
 *   <root>/manifest.csv   (or manifest.json) columns: id, action, grade | score, split, subject
 *   <root>/actions.json   optional: ActionInfo[] (names and full grade ranges)
 *   <root>/<modality>/<id>.npy   one file per sample and modality (.npz / .safetensors accepted)
 *
 * Every sub-folder is a modality. A sample may lack a modality file (the modality is then
 * undefined and counted in summary.missingModalities); a file that is corrupt, truncated,
 * non-finite or shaped unlike the rest of its modality is an Error naming the file and the
 * sample. Files with no manifest row are reported in summary.warnings. Nothing is dropped.
 *
 * manifest.json is either an array of rows or { samples: rows, actions?: ActionInfo[] }.
 */
import { parseCsvRecords, formatCsv } from './csv.js';
import {
  type DatasetFileSource,
  ModalityShapeCheck,
  assertSafeModalityName,
  assertSafeSampleId,
  deriveActions,
  makeDataset,
  toFeatureArray,
} from './dataset.js';
import { isNdArrayLike, type NdArrayLike } from './ndarray.js';
import { readNpy, readNpz, writeNpy } from './npy.js';
import { decodeSafetensors, safetensorsToNumericDType } from './safetensors.js';
import type { ActionInfo, Dataset, Sample } from './types.js';
import type { InflateRaw } from './zip.js';

export const FEATURE_EXTENSIONS = ['.npy', '.npz', '.safetensors'] as const;

export interface PlainLoadOptions {
  /** Only these modalities (default: every sub-folder). */
  modalities?: string[];
  /** Needed for compressed .npz feature files (npy.node.ts `nodeInflateRaw`). */
  inflateRaw?: InflateRaw | undefined;
}

const KNOWN_COLUMNS = new Set(['id', 'action', 'grade', 'score', 'split', 'subject']);

interface ManifestRow {
  [column: string]: unknown;
}

/** Loads the plain layout from any file source. */
export function parsePlainDataset(source: DatasetFileSource, options: PlainLoadOptions = {}): Dataset {
  const warnings: string[] = [];
  const { rows, actions: declaredActions, manifestName } = readManifest(source, warnings);
  const samples = rows.map((row, index) => rowToSample(row, `${source.root}/${manifestName} row ${index + 1}`));

  const seen = new Set<string>();
  for (const sample of samples) {
    if (seen.has(sample.id)) throw new Error(`${source.root}/${manifestName}: duplicate sample id '${sample.id}'`);
    seen.add(sample.id);
  }

  const actions = declaredActions ?? deriveActions(samples);
  if (declaredActions) checkGradesAgainstActions(samples, declaredActions, `${source.root}/actions.json`);

  const modalities = options.modalities ?? source.list('').filter((name) => !name.startsWith('.') && source.isDirectory(name)).sort();
  const shapes = new ModalityShapeCheck();
  for (const modality of modalities) {
    if (!source.isDirectory(modality)) warnings.push(`modality '${modality}' has no folder in ${source.root}`);
    const files = new Set(source.list(modality));
    const claimed = new Set<string>();
    for (const sample of samples) {
      const candidates = FEATURE_EXTENSIONS.map((ext) => `${sample.id}${ext}`).filter((name) => files.has(name));
      if (candidates.length > 1) {
        throw new Error(`${source.root}/${modality}: sample '${sample.id}' has several files (${candidates.join(', ')})`);
      }
      const name = candidates[0];
      if (name === undefined) {
        sample.modalities[modality] = undefined;
        continue;
      }
      claimed.add(name);
      const path = `${modality}/${name}`;
      const what = `${source.root}/${path} (sample '${sample.id}')`;
      const bytes = source.read(path);
      if (!bytes) throw new Error(`${what}: listed but unreadable`);
      let feature;
      try {
        feature = toFeatureArray(decodeFeatureFile(name, bytes, modality, options.inflateRaw), 'data');
      } catch (error) {
        throw new Error(`${what}: ${(error as Error).message}`);
      }
      shapes.check(modality, feature.shape, what);
      sample.modalities[modality] = feature;
    }
    const orphans = [...files].filter((name) => !claimed.has(name) && !name.startsWith('.'));
    if (orphans.length > 0) {
      const shown = orphans.slice(0, 5).join(', ');
      warnings.push(`${modality}/: ${orphans.length} file(s) with no manifest row: ${shown}${orphans.length > 5 ? ', ...' : ''}`);
    }
  }
  return makeDataset(samples, actions, modalities, warnings);
}

function readManifest(
  source: DatasetFileSource,
  warnings: string[],
): { rows: ManifestRow[]; actions?: ActionInfo[] | undefined; manifestName: string } {
  const json = source.read('manifest.json');
  const csv = source.read('manifest.csv');
  let rows: ManifestRow[];
  let actions: ActionInfo[] | undefined;
  let manifestName: string;
  if (json) {
    manifestName = 'manifest.json';
    if (csv) warnings.push('both manifest.json and manifest.csv exist; manifest.json was used');
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(json));
    } catch (error) {
      throw new Error(`${source.root}/manifest.json: not valid JSON (${(error as Error).message})`);
    }
    const body = Array.isArray(parsed) ? { samples: parsed } : (parsed as { samples?: unknown; actions?: unknown });
    if (typeof body !== 'object' || body === null || !Array.isArray(body.samples)) {
      throw new Error(`${source.root}/manifest.json: expected an array of rows or { "samples": [...] }`);
    }
    rows = body.samples as ManifestRow[];
    if (body.actions !== undefined) actions = parseActions(body.actions, `${source.root}/manifest.json actions`);
  } else if (csv) {
    manifestName = 'manifest.csv';
    const { header, records } = parseCsvRecords(new TextDecoder().decode(csv), `${source.root}/manifest.csv`);
    const unknown = header.filter((h) => !KNOWN_COLUMNS.has(h));
    if (unknown.length > 0) warnings.push(`manifest.csv: columns ignored: ${unknown.join(', ')}`);
    rows = records;
  } else {
    throw new Error(`${source.root}: no manifest.csv or manifest.json`);
  }
  const actionsFile = source.read('actions.json');
  if (actionsFile && !actions) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(actionsFile));
    } catch (error) {
      throw new Error(`${source.root}/actions.json: not valid JSON (${(error as Error).message})`);
    }
    actions = parseActions(parsed, `${source.root}/actions.json`);
  }
  return { rows, actions, manifestName };
}

function parseActions(value: unknown, what: string): ActionInfo[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected an array of actions`);
  return value.map((item: unknown, index) => {
    const a = item as Partial<ActionInfo> | null;
    const ok =
      a !== null &&
      typeof a === 'object' &&
      typeof a.id === 'string' &&
      typeof a.name === 'string' &&
      Number.isInteger(a.minGrade) &&
      Number.isInteger(a.maxGrade) &&
      a.maxGrade! >= a.minGrade!;
    if (!ok) throw new Error(`${what}[${index}]: needs id, name and integer minGrade <= maxGrade`);
    return { id: a.id!, name: a.name!, minGrade: a.minGrade!, maxGrade: a.maxGrade!, numGrades: a.maxGrade! - a.minGrade! + 1 };
  });
}

function checkGradesAgainstActions(samples: Sample[], actions: ActionInfo[], what: string): void {
  const byId = new Map(actions.map((a) => [a.id, a]));
  for (const sample of samples) {
    const action = byId.get(sample.action);
    if (!action) throw new Error(`${what}: sample '${sample.id}' has action '${sample.action}', which is not declared`);
    if (sample.grade !== undefined && (sample.grade < action.minGrade || sample.grade > action.maxGrade)) {
      throw new Error(`${what}: sample '${sample.id}' grade ${sample.grade} is outside ${action.id}'s range ${action.minGrade}..${action.maxGrade}`);
    }
  }
}

function rowToSample(row: ManifestRow, what: string): Sample {
  if (typeof row !== 'object' || row === null) throw new Error(`${what}: not an object`);
  const text = (key: string): string | undefined => {
    const value = row[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`${what}: field '${key}' must be a string or number`);
    return String(value).trim();
  };
  const number = (key: string): number | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(`${what}: field '${key}' = ${JSON.stringify(raw)} is not a number`);
    return value;
  };
  const id = text('id');
  const action = text('action');
  if (id === undefined) throw new Error(`${what}: missing 'id'`);
  if (action === undefined) throw new Error(`${what} (sample '${id}'): missing 'action'`);
  assertSafeSampleId(id, what);
  const grade = number('grade');
  if (grade !== undefined && !Number.isInteger(grade)) throw new Error(`${what} (sample '${id}'): grade ${grade} is not an integer`);
  const split = text('split');
  if (split !== undefined && split !== 'train' && split !== 'test') {
    throw new Error(`${what} (sample '${id}'): split must be 'train' or 'test', got '${split}'`);
  }
  const sample: Sample = { id, action, modalities: {} };
  const subject = text('subject');
  if (subject !== undefined) sample.subject = subject;
  if (split !== undefined) sample.split = split;
  if (grade !== undefined) sample.grade = grade;
  const score = number('score');
  if (score !== undefined) sample.score = score;
  return sample;
}

/** Decodes one feature file by extension; .npz/.safetensors must hold one array or one named after the modality. */
export function decodeFeatureFile(name: string, bytes: Uint8Array, modality: string, inflateRaw?: InflateRaw): NdArrayLike {
  if (name.endsWith('.npy')) return readNpy(bytes);
  if (name.endsWith('.npz')) {
    const arrays = readNpz(bytes, { inflateRaw });
    return pickSingle(arrays, modality, 'arrays');
  }
  if (name.endsWith('.safetensors')) {
    const { tensors } = decodeSafetensors(bytes);
    const picked = pickSingle(tensors, modality, 'tensors');
    return { dtype: safetensorsToNumericDType(picked.dtype), shape: picked.shape, data: picked.data };
  }
  throw new Error(`unsupported feature file type '${name}'`);
}

function pickSingle<T>(items: Record<string, T>, modality: string, kind: string): T {
  const names = Object.keys(items);
  if (names.length === 1) return items[names[0]!]!;
  if (modality in items) return items[modality]!;
  throw new Error(`holds ${names.length} ${kind} (${names.slice(0, 5).join(', ')}); expected one, or one named '${modality}'`);
}

/**
 * The files of the plain layout for `dataset`: manifest.csv, actions.json and
 * `<modality>/<id>.npy` for every defined modality (float32).
 */
export function encodePlainDataset(dataset: Dataset): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const encoder = new TextEncoder();
  for (const modality of dataset.modalities) assertSafeModalityName(modality, 'writePlainDataset');
  const rows: Array<Array<string | number | undefined>> = [['id', 'action', 'grade', 'score', 'split', 'subject']];
  const seen = new Set<string>();
  for (const sample of dataset.samples) {
    assertSafeSampleId(sample.id, 'writePlainDataset');
    if (seen.has(sample.id)) throw new Error(`writePlainDataset: duplicate sample id '${sample.id}'`);
    seen.add(sample.id);
    rows.push([sample.id, sample.action, sample.grade, sample.score, sample.split, sample.subject]);
    for (const [modality, feature] of Object.entries(sample.modalities)) {
      if (feature === undefined) continue;
      assertSafeModalityName(modality, `writePlainDataset (sample '${sample.id}')`);
      const arr = { dtype: 'float32' as const, shape: feature.shape, data: feature.data };
      if (!isNdArrayLike(arr)) throw new Error(`writePlainDataset: sample '${sample.id}' ${modality} is not a float32 array`);
      files.set(`${modality}/${sample.id}.npy`, writeNpy(arr));
    }
  }
  files.set('manifest.csv', encoder.encode(formatCsv(rows)));
  files.set('actions.json', encoder.encode(`${JSON.stringify(dataset.actions, null, 2)}\n`));
  return files;
}
