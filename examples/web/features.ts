/**
 * Feature files a user picks on the page -> one Sample.
 *   - one .npy per modality, named after it (video.npy, flow.npy, skeleton.npy, image.npy, text.npy;
 *     `<anything>_video.npy` / `video-<id>.npy` also work), as in the plain dataset layout;
 *   - or a .json object { "video": { "shape": [T, C], "data": [...] } | nested arrays, ..., "action"?: "01" }.
 */
import { decodeFeatureFile, toFeatureArray, type FeatureArray, type Sample } from 'dualalign-gpu';

export interface ParsedFeatures {
  sample: Sample;
  /** Modalities found in the files, in file order. */
  found: string[];
  /** The action named in a JSON file, if any. */
  action?: string;
}

function modalityFromName(fileName: string, known: readonly string[]): string {
  const stem = fileName.replace(/\.[^.]+$/, '').toLowerCase();
  if (known.includes(stem)) return stem;
  const parts = stem.split(/[^a-z0-9]+/);
  const hit = known.find((m) => parts.includes(m));
  if (hit) return hit;
  throw new Error(`${fileName}: cannot tell the modality from the file name; name it after one of ${known.join(', ')} (e.g. ${known[0]}.npy)`);
}

function flatten(value: unknown, shape: number[], out: number[], what: string, depth = 0): void {
  if (Array.isArray(value)) {
    if (shape.length <= depth) shape.push(value.length);
    else if (shape[depth] !== value.length) throw new Error(`${what}: ragged nested array (length ${value.length} where ${shape[depth]} was expected)`);
    for (const v of value) flatten(v, shape, out, what, depth + 1);
  } else if (typeof value === 'number') {
    if (depth !== shape.length) throw new Error(`${what}: ragged nested array`);
    out.push(value);
  } else {
    throw new Error(`${what}: expected numbers, got ${value === null ? 'null' : typeof value}`);
  }
}

function jsonFeature(value: unknown, what: string): FeatureArray {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as { shape?: unknown; data?: unknown };
    if (!Array.isArray(o.shape) || !Array.isArray(o.data)) throw new Error(`${what}: expected { shape: [...], data: [...] } or a nested array`);
    const shape = o.shape.map(Number);
    const data = Float32Array.from(o.data as number[]);
    return toFeatureArray({ dtype: 'float32', shape, data }, what);
  }
  const shape: number[] = [];
  const flat: number[] = [];
  flatten(value, shape, flat, what);
  return toFeatureArray({ dtype: 'float32', shape, data: Float32Array.from(flat) }, what);
}

export async function parseFeatureFiles(files: readonly File[], known: readonly string[]): Promise<ParsedFeatures> {
  if (files.length === 0) throw new Error('choose one .npy file per modality, or one .json file');
  const sample: Sample = { id: files.length === 1 ? files[0]!.name : 'uploaded', action: '', modalities: {} };
  const found: string[] = [];
  let action: string | undefined;
  for (const file of files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (file.name.toLowerCase().endsWith('.json')) {
      let obj: unknown;
      try {
        obj = JSON.parse(new TextDecoder().decode(bytes));
      } catch (e) {
        throw new Error(`${file.name}: not valid JSON (${(e as Error).message})`);
      }
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${file.name}: expected an object keyed by modality`);
      for (const [key, value] of Object.entries(obj as Record<string, unknown>)) {
        if (key === 'action') {
          action = String(value);
          continue;
        }
        if (key === 'id' || key === 'grade' || key === 'subject') continue;
        if (!known.includes(key)) throw new Error(`${file.name}: unknown modality '${key}' (expected ${known.join(', ')})`);
        sample.modalities[key] = jsonFeature(value, `${file.name} ${key}`);
        found.push(key);
      }
    } else if (file.name.toLowerCase().endsWith('.npy')) {
      const modality = modalityFromName(file.name, known);
      if (sample.modalities[modality]) throw new Error(`${file.name}: a second file for modality '${modality}'`);
      let arr;
      try {
        arr = decodeFeatureFile(file.name.toLowerCase(), bytes, modality);
      } catch (e) {
        throw new Error(`${file.name}: ${(e as Error).message}`);
      }
      sample.modalities[modality] = toFeatureArray(arr, file.name);
      found.push(modality);
    } else {
      throw new Error(`${file.name}: expected a .npy or .json file`);
    }
  }
  if (found.length === 0) throw new Error('the files hold no modality');
  return { sample, found, action };
}
