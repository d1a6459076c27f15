/**
 * Reads the authors' MM-JDM feature release as published, without conversion:
 *
 *   label.csv                Sample_Name, Video_ID, Action_Type, Action_Class, Score
 *                            (optional Subject / Subject_ID column -> Sample.subject)
 *   JDMxx_rgb_VST.npy        per action xx: pickled dict Sample_Name -> [T, Cv]  -> modality 'video'
 *   JDMxx_flow_I3D.npy       per action xx: pickled dict Sample_Name -> [T, Cf]  -> modality 'flow'
 *   JDM_skeleton_raw.npy     [N, T, J, 3], row i = row i of label.csv           -> modality 'skeleton'
 *                            (a pickled dict Sample_Name -> [T, J, 3] is accepted too)
 *   JDM_text_CLIP.npy        pickled dict Sample_Name -> { video: [T, 512], text: [512] }
 *                                                                               -> 'image', 'text'
 *   *train*.pkl, *test*.pkl  pickled lists of Sample_Name (the official split)
 *
 * Sample.id is Sample_Name, Sample.action the two-digit Action_Class ('01'..'12'), grade
 * the Score. Grade ranges come from Table 2; a score outside them widens the range and
 * adds a warning. Missing files or dict entries leave the modality undefined (counted in
 * summary.missingModalities); entries for unknown samples and unsplit samples are warned
 * about; corrupt files and wrong shapes are Errors naming the file and sample.
 */
import { parseCsvRecords } from './csv.js';
import {
  type DatasetFileSource,
  ModalityShapeCheck,
  makeDataset,
  toFeatureArray,
} from './dataset.js';
import { findMMJDMAction } from './mmjdmSpec.js';
import { type NdArrayLike, describeShape, elementCount, isNdArrayLike } from './ndarray.js';
import { readNpy } from './npy.js';
import { describePickleValue, unpickle } from './pickle.js';
import type { ActionInfo, Dataset, Sample } from './types.js';

export const MMJDM_MODALITIES = ['video', 'flow', 'skeleton', 'image', 'text'] as const;
export type MMJDMModality = (typeof MMJDM_MODALITIES)[number];

export interface MMJDMLoadOptions {
  /** Only these actions (ids like '01' or names). */
  actions?: string[];
  /** Only these modalities (default all five). */
  modalities?: MMJDMModality[];
  /** Override file names when a release names them differently. */
  files?: {
    label?: string;
    trainSplit?: string;
    testSplit?: string;
    skeleton?: string;
    text?: string;
    /** e.g. (id) => `JDM${id}_rgb_VST.npy` */
    video?: (actionId: string) => string;
    flow?: (actionId: string) => string;
  };
}

export function parseMMJDMRelease(source: DatasetFileSource, options: MMJDMLoadOptions = {}): Dataset {
  const warnings: string[] = [];
  const files = {
    label: options.files?.label ?? 'label.csv',
    skeleton: options.files?.skeleton ?? 'JDM_skeleton_raw.npy',
    text: options.files?.text ?? 'JDM_text_CLIP.npy',
    video: options.files?.video ?? ((id: string) => `JDM${id}_rgb_VST.npy`),
    flow: options.files?.flow ?? ((id: string) => `JDM${id}_flow_I3D.npy`),
  };
  const modalities: MMJDMModality[] = options.modalities ?? [...MMJDM_MODALITIES];
  const at = (name: string): string => `${source.root}/${name}`;

  // ---- labels
  const labelBytes = source.read(files.label);
  if (!labelBytes) throw new Error(`${at(files.label)}: not found (is ${source.root} an MM-JDM release?)`);
  const { header, records } = parseCsvRecords(new TextDecoder().decode(labelBytes), at(files.label));
  for (const column of ['Sample_Name', 'Action_Class', 'Score']) {
    if (!header.includes(column)) throw new Error(`${at(files.label)}: column '${column}' is missing (has ${header.join(', ')})`);
  }
  const subjectColumn = header.find((h) => /^subject(_id)?$/i.test(h));
  const wanted = options.actions?.map((a) => {
    const spec = findMMJDMAction(a);
    return spec ? spec.id : a;
  });

  const allSamples: Sample[] = [];
  const rowOf = new Map<string, number>();
  const actionInfo = new Map<string, ActionInfo>();
  records.forEach((record, index) => {
    const where = `${at(files.label)} row ${index + 2}`;
    const id = record.Sample_Name!;
    if (id === '') throw new Error(`${where}: empty Sample_Name`);
    if (rowOf.has(id)) throw new Error(`${where}: duplicate Sample_Name '${id}'`);
    rowOf.set(id, index);
    const actionClass = Number(record.Action_Class);
    if (!Number.isInteger(actionClass) || actionClass < 1) throw new Error(`${where} (sample '${id}'): Action_Class '${record.Action_Class}' is not a positive integer`);
    const actionId = String(actionClass).padStart(2, '0');
    const grade = Number(record.Score);
    if (record.Score === '' || !Number.isInteger(grade)) throw new Error(`${where} (sample '${id}'): Score '${record.Score}' is not an integer grade`);
    let info = actionInfo.get(actionId);
    if (!info) {
      const spec = findMMJDMAction(actionId);
      const name = record.Action_Type || spec?.name || actionId;
      info = spec ? { id: actionId, name, minGrade: 0, maxGrade: spec.maxGrade, numGrades: spec.maxGrade + 1 } : { id: actionId, name, minGrade: grade, maxGrade: grade, numGrades: 1 };
      actionInfo.set(actionId, info);
    }
    if (grade < info.minGrade || grade > info.maxGrade) {
      if (findMMJDMAction(actionId)) warnings.push(`sample '${id}': Score ${grade} is outside Table 2's range ${info.minGrade}..${info.maxGrade} for action ${actionId}; range widened`);
      info.minGrade = Math.min(info.minGrade, grade);
      info.maxGrade = Math.max(info.maxGrade, grade);
      info.numGrades = info.maxGrade - info.minGrade + 1;
    }
    const sample: Sample = { id, action: actionId, grade, modalities: {} };
    const subject = subjectColumn ? record[subjectColumn] : undefined;
    if (subject) sample.subject = subject;
    allSamples.push(sample);
  });

  const samples = wanted ? allSamples.filter((s) => wanted.includes(s.action)) : allSamples;
  if (wanted) {
    for (const a of wanted) if (!actionInfo.has(a)) throw new Error(`${at(files.label)}: no samples of action '${a}'`);
  }
  const actionIds = [...new Set(samples.map((s) => s.action))].sort();
  const shapes = new ModalityShapeCheck();
  const assign = (sample: Sample, modality: MMJDMModality, value: unknown, file: string): void => {
    const what = `${at(file)} (sample '${sample.id}')`;
    if (!isNdArrayLike(value)) throw new Error(`${what}: expected a numeric array, got ${describePickleValue(value)}`);
    const feature = toFeatureArray(value, what);
    shapes.check(modality, feature.shape, what);
    sample.modalities[modality] = feature;
  };
  const readDict = (file: string): Map<unknown, unknown> | undefined => {
    const bytes = source.read(file);
    if (!bytes) return undefined;
    const value = readNpy(bytes, { allowPickle: true, what: at(file) });
    if (!(value instanceof Map)) throw new Error(`${at(file)}: expected a pickled dict, got ${describePickleValue(value)}`);
    return value;
  };
  /** Dict keys not in label.csv, or filed under another action, are reported, never silently used. */
  const reportStrangers = (dict: Map<unknown, unknown>, file: string, expectedAction?: string): void => {
    const strangers = [...dict.keys()].filter((key) => {
      if (typeof key !== 'string' || !rowOf.has(key)) return true;
      return expectedAction !== undefined && allSamples[rowOf.get(key)!]!.action !== expectedAction;
    });
    if (strangers.length > 0) {
      warnings.push(`${file}: ${strangers.length} entr${strangers.length === 1 ? 'y' : 'ies'} not in ${files.label} (or of another action): ${strangers.slice(0, 3).map(String).join(', ')}`);
    }
  };

  // ---- per-action video and flow dicts
  for (const [modality, nameOf] of [['video', files.video], ['flow', files.flow]] as const) {
    if (!modalities.includes(modality)) continue;
    for (const actionId of actionIds) {
      const file = nameOf(actionId);
      const dict = readDict(file);
      if (!dict) {
        warnings.push(`${file} not found: ${modality} missing for action ${actionId}`);
        continue;
      }
      reportStrangers(dict, file, actionId);
      for (const sample of samples) {
        if (sample.action === actionId && dict.has(sample.id)) assign(sample, modality, dict.get(sample.id), file);
      }
    }
  }

  // ---- skeleton: one [N, T, J, C] array in label.csv order (or a dict)
  if (modalities.includes('skeleton')) {
    const bytes = source.read(files.skeleton);
    if (!bytes) {
      warnings.push(`${files.skeleton} not found: skeleton missing for every sample`);
    } else {
      const value = readNpy(bytes, { allowPickle: true, what: at(files.skeleton) });
      if (value instanceof Map) {
        reportStrangers(value, files.skeleton);
        for (const sample of samples) if (value.has(sample.id)) assign(sample, 'skeleton', value.get(sample.id), files.skeleton);
      } else if (isNdArrayLike(value)) {
        const [n, ...rest] = value.shape;
        if (value.shape.length !== 4 || n !== records.length) {
          throw new Error(`${at(files.skeleton)}: shape ${describeShape(value.shape)} should be [N=${records.length} (rows of ${files.label}), T, J, C]`);
        }
        const per = elementCount(rest);
        for (const sample of samples) {
          const row = rowOf.get(sample.id)!;
          const slice: NdArrayLike = { dtype: value.dtype, shape: rest, data: value.data.slice(row * per, (row + 1) * per) };
          assign(sample, 'skeleton', slice, files.skeleton);
        }
      } else {
        throw new Error(`${at(files.skeleton)}: expected an [N, T, J, C] array or a dict, got ${describePickleValue(value)}`);
      }
    }
  }

  // ---- CLIP image-frame and text embeddings
  if (modalities.includes('image') || modalities.includes('text')) {
    const dict = readDict(files.text);
    if (!dict) {
      warnings.push(`${files.text} not found: image and text missing for every sample`);
    } else {
      reportStrangers(dict, files.text);
      for (const sample of samples) {
        const entry = dict.get(sample.id);
        if (entry === undefined) continue;
        if (!(entry instanceof Map)) throw new Error(`${at(files.text)} (sample '${sample.id}'): expected a dict with 'video' and 'text', got ${describePickleValue(entry)}`);
        const image = entry.get('video') ?? entry.get('image');
        const text = entry.get('text');
        if (modalities.includes('image') && image !== undefined) assign(sample, 'image', image, files.text);
        if (modalities.includes('text') && text !== undefined) assign(sample, 'text', text, files.text);
      }
    }
  }
  for (const sample of samples) for (const m of modalities) if (!(m in sample.modalities)) sample.modalities[m] = undefined;

  // ---- official split
  applySplit(source, samples, rowOf, options, warnings);

  const actions = actionIds.map((id) => actionInfo.get(id)!);
  return makeDataset(samples, actions, [...modalities], warnings);
}

function applySplit(
  source: DatasetFileSource,
  samples: Sample[],
  known: Map<string, number>,
  options: MMJDMLoadOptions,
  warnings: string[],
): void {
  const pick = (kind: 'train' | 'test', override?: string): string | undefined => {
    if (override) return override;
    const candidates = source.list('').filter((name) => /\.(pkl|pickle)$/i.test(name) && name.toLowerCase().includes(kind));
    if (candidates.length > 1) throw new Error(`${source.root}: several ${kind} split files (${candidates.join(', ')}); choose one with options.files.${kind}Split`);
    return candidates[0];
  };
  const trainFile = pick('train', options.files?.trainSplit);
  const testFile = pick('test', options.files?.testSplit);
  if (!trainFile && !testFile) {
    warnings.push('no split files found: Sample.split left undefined');
    return;
  }
  const splitOf = new Map<string, 'train' | 'test'>();
  for (const [kind, file] of [['train', trainFile], ['test', testFile]] as const) {
    if (!file) {
      warnings.push(`no ${kind} split file found`);
      continue;
    }
    const bytes = source.read(file);
    if (!bytes) throw new Error(`${source.root}/${file}: split file not found`);
    const value = unpickle(bytes, { what: `${source.root}/${file}` });
    const ids = Array.isArray(value) ? value : value instanceof Set ? [...value] : isObjectArrayLike(value) ? value.data : undefined;
    if (!ids) throw new Error(`${source.root}/${file}: expected a list of sample names, got ${describePickleValue(value)}`);
    let unknown = 0;
    for (const raw of ids) {
      const id = String(raw);
      if (!known.has(id)) {
        unknown++;
        continue;
      }
      const previous = splitOf.get(id);
      if (previous && previous !== kind) throw new Error(`${source.root}/${file}: sample '${id}' is in both the train and the test split`);
      splitOf.set(id, kind);
    }
    if (unknown > 0) warnings.push(`${file}: ${unknown} id(s) not in the label file`);
  }
  let unsplit = 0;
  for (const sample of samples) {
    const split = splitOf.get(sample.id);
    if (split) sample.split = split;
    else unsplit++;
  }
  if (unsplit > 0) warnings.push(`${unsplit} sample(s) are in neither split file`);
}

function isObjectArrayLike(value: unknown): value is { data: unknown[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { data?: unknown }).data);
}
