/**
 * UI-PRMD (Vakanski et al., Data 2018), Kinect v2 segmented repetitions: 10 exercises x
 * 10 subjects x 10 repetitions, each performed correctly and incorrectly (2,000 samples).
 *
 *   {correct,incorrect}/positions/mMM_sSS_eEE_positions[_inc].txt[.gz]
 *   {correct,incorrect}/angles/mMM_sSS_eEE_angles[_inc].txt[.gz]
 * CSV without header, one row per frame, 66 columns = 22 joints x 3.
 *
 * Samples: id 'mMM_sSS_eEE' (correct) or 'mMM_sSS_eEE_inc' (incorrect), action = exercise
 * 'mMM', subject 'sSS', grade 1 = correct, 0 = incorrect. Modalities:
 *   positions [T, 22, 3]  absolute joint positions (cm), by forward kinematics (below)
 *   angles    [T, 22, 3]  the joint angles as recorded (degrees)
 *   text      [512]       hashTextEmbedding of the exercise description: a deterministic
 *                         hashed bag of words, NOT a CLIP embedding (same for every sample
 *                         of an exercise, so it carries no label information)
 *
 * Why forward kinematics: the positions files hold the waist's absolute position and, for
 * every other joint, its offset from the parent expressed in the parent's local frame (the
 * offsets barely change over a repetition); the pose lives in the angles. Positions are
 *   R_world[j] = R_world[parent] * E(angles[j]),   p[j] = p[parent] + R_world[parent] * offset[j]
 * with Euler angles in degrees, columns (x, y, z). The composition order E is not stated
 * by the dataset; the options are:
 *   'zxy' (default)  E = Rz * Rx * Ry, the Z-X-Y channel order of Kinect BVH exports. Chosen
 *                    because it is the order under which the body behaves physically: during
 *                    deep squats (m01) the feet stay on the floor (height varies ~2-4 cm,
 *                    against ~14 cm with Rz*Ry*Rx) and shoulder abduction (m07) stays in the
 *                    frontal plane. test/data/uiprmd.test.ts checks this on the real data.
 *   'zyx'            E = Rz * Ry * Rx, as in the authors' visualisation code (Animation.m).
 *   'authors'        Animation.m literally: Rz * Ry * Rx, and the two collar chains restart
 *                    from the chest's own rotation instead of the accumulated torso rotation
 *                    (the authors note their lower body is "not entirely correct").
 */
import { type DatasetFileSource, makeDataset } from './dataset.js';
import { hashTextEmbedding } from './textEmbedding.js';
import type { ActionInfo, Dataset, FeatureArray, Sample } from './types.js';

export const UIPRMD_JOINT_NAMES = [
  'Waist', 'Spine', 'Chest', 'Neck', 'Head', 'HeadTip',
  'LeftCollar', 'LeftUpperArm', 'LeftForearm', 'LeftHand',
  'RightCollar', 'RightUpperArm', 'RightForearm', 'RightHand',
  'LeftUpperLeg', 'LeftLowerLeg', 'LeftFoot', 'LeftToes',
  'RightUpperLeg', 'RightLowerLeg', 'RightFoot', 'RightToes',
] as const;

/** Parent of each of the 22 joints (-1 for the root, the waist). */
export const UIPRMD_JOINT_PARENTS: readonly number[] = [-1, 0, 1, 2, 3, 4, 2, 6, 7, 8, 2, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20];

/** Bones as [parent, child] joint-index pairs (21 edges of the tree). */
export const UIPRMD_EDGES: ReadonlyArray<readonly [number, number]> = UIPRMD_JOINT_PARENTS.flatMap((parent, child) =>
  parent < 0 ? [] : [[parent, child] as const],
);

export const UIPRMD_JOINTS = 22;

export const UIPRMD_EXERCISES: ReadonlyArray<{ id: string; name: string; description: string }> = [
  { id: 'm01', name: 'deep squat', description: 'Standing with feet shoulder-width apart, the subject squats down as deep as possible and stands back up' },
  { id: 'm02', name: 'hurdle step', description: 'The subject steps over a hurdle, raising one leg forward and up, then returns it' },
  { id: 'm03', name: 'inline lunge', description: 'With one foot in front of the other, the subject lowers the back knee toward the floor and rises' },
  { id: 'm04', name: 'side lunge', description: 'The subject steps to the side, bends the knee of the stepping leg and pushes back to standing' },
  { id: 'm05', name: 'sit to stand', description: 'From sitting on a chair, the subject stands up and sits back down' },
  { id: 'm06', name: 'standing active straight leg raise', description: 'Standing, the subject raises one straight leg forward and lowers it' },
  { id: 'm07', name: 'standing shoulder abduction', description: 'Standing, the subject raises one arm sideways above the shoulder and lowers it' },
  { id: 'm08', name: 'standing shoulder extension', description: 'Standing, the subject moves one straight arm backward and returns it' },
  { id: 'm09', name: 'standing shoulder internal-external rotation', description: 'With the elbow bent at a right angle, the subject rotates the forearm inward and outward' },
  { id: 'm10', name: 'standing shoulder scaption', description: 'Standing, the subject raises both arms forward at an angle in the scapular plane and lowers them' },
];

export type UIPRMDModality = 'positions' | 'angles' | 'text';
export type UIPRMDKinematics = 'zxy' | 'zyx' | 'authors';

export interface UIPRMDOptions {
  /** Exercises to load: 'm01'..'m10' or 1..10 (default all). */
  exercises?: Array<string | number>;
  /** Subjects to load: 's01'..'s10' or 1..10 (default all). */
  subjects?: Array<string | number>;
  /** Resample every repetition to exactly this many frames (linear interpolation). */
  maxFramesResample?: number;
  /** Euler convention of the forward kinematics (see the module comment); default 'zxy'. */
  kinematics?: UIPRMDKinematics;
  modalities?: UIPRMDModality[];
  /** Size of the text embedding (default 512). */
  textDim?: number;
}

export interface UIPRMDSourceOptions extends UIPRMDOptions {
  /** Decompresses a .gz file (node:zlib gunzipSync in uiprmd.node.ts). */
  gunzip?: (bytes: Uint8Array) => Uint8Array;
}

const COLUMNS = UIPRMD_JOINTS * 3;

function normalizeId(value: string | number, prefix: 'm' | 's', what: string): string {
  const text = String(value).trim().toLowerCase();
  const digits = text.startsWith(prefix) ? text.slice(1) : text;
  const n = Number(digits);
  if (!/^\d+$/.test(digits) || n < 1 || n > 99) throw new Error(`UI-PRMD: ${what} '${value}' is not like ${prefix}01`);
  return `${prefix}${String(n).padStart(2, '0')}`;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i); // exact doubles up to 1e22

/**
 * Parses a UI-PRMD CSV (no header, `columns` numbers per row) into a flat Float64Array.
 * A hand-rolled scanner: these files hold ~13 million numbers and split/Number was the
 * loader's bottleneck. Plain decimals are parsed as integer mantissa / 10^k (one correctly
 * rounded division, so identical to Number()); anything else falls back to Number().
 */
export function parseNumericCsv(text: string, columns: number, what: string): { data: Float64Array; rows: number } {
  let data = new Float64Array(Math.max(columns, Math.ceil(text.length / 8)));
  let count = 0;
  let rows = 0;
  let column = 0;
  let pos = 0;
  const length = text.length;
  const fail = (message: string): never => {
    throw new Error(`${what}: line ${rows + 1}, column ${column + 1}: ${message}`);
  };
  while (pos < length) {
    // Blank lines (and a trailing newline) are allowed between rows.
    const first = text.charCodeAt(pos);
    if (column === 0 && (first === 10 || first === 13)) {
      pos++;
      continue;
    }
    const start = pos;
    let negative = false;
    let c = first;
    if (c === 45 || c === 43) {
      negative = c === 45;
      c = text.charCodeAt(++pos);
    }
    let mantissa = 0;
    let digits = 0;
    let scale = 0;
    while (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      c = text.charCodeAt(++pos);
    }
    if (c === 46) {
      c = text.charCodeAt(++pos);
      while (c >= 48 && c <= 57) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
        scale++;
        c = text.charCodeAt(++pos);
      }
    }
    let value: number;
    if (digits === 0) {
      // Not a plain decimal: take the whole field and let Number() judge it.
      while (pos < length && c !== 44 && c !== 10 && c !== 13) c = text.charCodeAt(++pos);
      const field = text.slice(start, pos);
      value = field.trim() === '' ? NaN : Number(field);
      if (!Number.isFinite(value)) fail(`'${field.slice(0, 30)}' is not a number`);
    } else if (c === 101 || c === 69 || digits > 15 || scale > 22) {
      while (pos < length && c !== 44 && c !== 10 && c !== 13) c = text.charCodeAt(++pos);
      value = Number(text.slice(start, pos));
      if (!Number.isFinite(value)) fail(`'${text.slice(start, pos).slice(0, 30)}' is not a number`);
    } else {
      value = scale === 0 ? mantissa : mantissa / POW10[scale]!;
      if (negative) value = -value;
    }
    if (count === data.length) {
      const grown = new Float64Array(data.length * 2);
      grown.set(data);
      data = grown;
    }
    data[count++] = value;
    column++;
    if (pos >= length || c === 10 || c === 13) {
      if (column !== columns) fail(`row has ${column} values, expected ${columns}`);
      column = 0;
      rows++;
      pos++;
    } else if (c === 44) {
      if (column >= columns) fail(`row has more than ${columns} values`);
      pos++;
    } else {
      fail(`unexpected character '${text[pos]}'`);
    }
  }
  if (column !== 0) fail(`row has ${column} values, expected ${columns}`);
  return { data: data.slice(0, count), rows };
}

/** Rotation matrix (row-major 3x3) of Euler angles in degrees: Rz*Rx*Ry ('zxy') or Rz*Ry*Rx ('zyx'). */
function eulerToMatrix(xDeg: number, yDeg: number, zDeg: number, order: 'zxy' | 'zyx', out: Float64Array, offset: number): void {
  const d = Math.PI / 180;
  const cx = Math.cos(xDeg * d);
  const sx = Math.sin(xDeg * d);
  const cy = Math.cos(yDeg * d);
  const sy = Math.sin(yDeg * d);
  const cz = Math.cos(zDeg * d);
  const sz = Math.sin(zDeg * d);
  if (order === 'zyx') {
    out[offset] = cz * cy;
    out[offset + 1] = cz * sy * sx - sz * cx;
    out[offset + 2] = cz * sy * cx + sz * sx;
    out[offset + 3] = sz * cy;
    out[offset + 4] = sz * sy * sx + cz * cx;
    out[offset + 5] = sz * sy * cx - cz * sx;
    out[offset + 6] = -sy;
    out[offset + 7] = cy * sx;
    out[offset + 8] = cy * cx;
  } else {
    out[offset] = cz * cy - sz * sx * sy;
    out[offset + 1] = -sz * cx;
    out[offset + 2] = cz * sy + sz * sx * cy;
    out[offset + 3] = sz * cy + cz * sx * sy;
    out[offset + 4] = cz * cx;
    out[offset + 5] = sz * sy - cz * sx * cy;
    out[offset + 6] = -cx * sy;
    out[offset + 7] = sx;
    out[offset + 8] = cx * cy;
  }
}

function multiply3(a: Float64Array, ao: number, b: Float64Array, bo: number, out: Float64Array, oo: number): void {
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[oo + r * 3 + c] = a[ao + r * 3]! * b[bo + c]! + a[ao + r * 3 + 1]! * b[bo + 3 + c]! + a[ao + r * 3 + 2]! * b[bo + 6 + c]!;
    }
  }
}

/**
 * Absolute joint positions [T, 22, 3] from parent-relative offsets and joint angles (both
 * [T, 22, 3], flat). See the module comment for the convention.
 */
export function uiprmdForwardKinematics(offsets: Float64Array, angles: Float64Array, frames: number, variant: UIPRMDKinematics = 'zxy'): Float64Array {
  if (offsets.length !== frames * COLUMNS || angles.length !== frames * COLUMNS) {
    throw new Error(`uiprmdForwardKinematics: expected ${frames} frames of ${COLUMNS} values`);
  }
  const out = new Float64Array(frames * COLUMNS);
  const local = new Float64Array(UIPRMD_JOINTS * 9);
  const world = new Float64Array(UIPRMD_JOINTS * 9);
  const base = new Float64Array(9);
  const order = variant === 'zxy' ? 'zxy' : 'zyx';
  for (let t = 0; t < frames; t++) {
    const row = t * COLUMNS;
    for (let j = 0; j < UIPRMD_JOINTS; j++) {
      eulerToMatrix(angles[row + 3 * j]!, angles[row + 3 * j + 1]!, angles[row + 3 * j + 2]!, order, local, j * 9);
    }
    // Root: absolute position and its own rotation.
    out[row] = offsets[row]!;
    out[row + 1] = offsets[row + 1]!;
    out[row + 2] = offsets[row + 2]!;
    world.set(local.subarray(0, 9), 0);
    // Parents always precede children in this joint order, so one pass suffices.
    for (let j = 1; j < UIPRMD_JOINTS; j++) {
      const parent = UIPRMD_JOINT_PARENTS[j]!;
      // Animation.m starts the collar chains from the chest's own rotation only.
      if (variant === 'authors' && (j === 6 || j === 10)) base.set(local.subarray(parent * 9, parent * 9 + 9));
      else base.set(world.subarray(parent * 9, parent * 9 + 9));
      const ox = offsets[row + 3 * j]!;
      const oy = offsets[row + 3 * j + 1]!;
      const oz = offsets[row + 3 * j + 2]!;
      for (let r = 0; r < 3; r++) {
        out[row + 3 * j + r] = out[row + 3 * parent + r]! + base[r * 3]! * ox + base[r * 3 + 1]! * oy + base[r * 3 + 2]! * oz;
      }
      multiply3(base, 0, local, j * 9, world, j * 9);
    }
  }
  return out;
}

/**
 * Linearly resamples [T, C] rows to `target` rows. With `angles`, values are unwrapped
 * along time first (no interpolation across the +-180 degree seam) and wrapped back after.
 */
export function resampleRows(data: Float64Array, frames: number, columns: number, target: number, angles = false): Float64Array {
  let source = data;
  if (angles) {
    source = data.slice();
    for (let c = 0; c < columns; c++) {
      for (let t = 1; t < frames; t++) {
        let v = source[t * columns + c]!;
        const previous = source[(t - 1) * columns + c]!;
        while (v - previous > 180) v -= 360;
        while (v - previous < -180) v += 360;
        source[t * columns + c] = v;
      }
    }
  }
  const out = new Float64Array(target * columns);
  for (let t = 0; t < target; t++) {
    const position = target === 1 ? 0 : (t * (frames - 1)) / (target - 1);
    const t0 = Math.min(frames - 1, Math.floor(position));
    const t1 = Math.min(frames - 1, t0 + 1);
    const w = position - t0;
    for (let c = 0; c < columns; c++) {
      let v = (1 - w) * source[t0 * columns + c]! + w * source[t1 * columns + c]!;
      if (angles) v = ((((v + 180) % 360) + 360) % 360) - 180;
      out[t * columns + c] = v;
    }
  }
  return out;
}

const FILE_PATTERN = /^(m\d\d)_(s\d\d)_(e\d\d)_positions(_inc)?\.txt(\.gz)?$/;

/** Loads UI-PRMD from a file source laid out as the published folders (see module comment). */
export function parseUIPRMD(source: DatasetFileSource, options: UIPRMDSourceOptions = {}): Dataset {
  const exercises = options.exercises?.map((e) => normalizeId(e, 'm', 'exercise'));
  const subjects = options.subjects?.map((s) => normalizeId(s, 's', 'subject'));
  const modalities: UIPRMDModality[] = options.modalities ?? ['positions', 'angles', 'text'];
  const target = options.maxFramesResample;
  if (target !== undefined && (!Number.isInteger(target) || target < 2)) throw new Error(`UI-PRMD: maxFramesResample must be an integer >= 2, got ${target}`);
  const textDim = options.textDim ?? 512;
  const decoder = new TextDecoder();
  const readText = (path: string): string => {
    const bytes = source.read(path);
    if (!bytes) throw new Error(`${source.root}/${path}: file not found`);
    if (!path.endsWith('.gz')) return decoder.decode(bytes);
    if (!options.gunzip) throw new Error(`${source.root}/${path}: gzip file but no gunzip function (use loadUIPRMD from uiprmd.node.ts)`);
    try {
      return decoder.decode(options.gunzip(bytes));
    } catch (error) {
      throw new Error(`${source.root}/${path}: cannot decompress (${(error as Error).message})`);
    }
  };

  const samples: Sample[] = [];
  const warnings: string[] = [];
  const textByExercise = new Map<string, Float32Array>();
  for (const [folder, grade] of [['correct', 1], ['incorrect', 0]] as const) {
    const names = source.list(`${folder}/positions`);
    if (names.length === 0) warnings.push(`${folder}/positions: no files`);
    for (const name of names) {
      const match = FILE_PATTERN.exec(name);
      if (!match) {
        warnings.push(`${folder}/positions/${name}: not a UI-PRMD positions file name; skipped`);
        continue;
      }
      const [, exercise, subject, repetition, inc, gz] = match as unknown as [string, string, string, string, string | undefined, string | undefined];
      if ((inc !== undefined) !== (grade === 0)) {
        warnings.push(`${folder}/positions/${name}: '_inc' suffix does not match the folder; skipped`);
        continue;
      }
      if (exercises && !exercises.includes(exercise)) continue;
      if (subjects && !subjects.includes(subject)) continue;
      const id = `${exercise}_${subject}_${repetition}${inc ?? ''}`;
      const positionsPath = `${folder}/positions/${name}`;
      const anglesPath = `${folder}/angles/${exercise}_${subject}_${repetition}_angles${inc ?? ''}.txt${gz ?? ''}`;
      const sample: Sample = { id, action: exercise, subject, grade, modalities: {} };
      if (modalities.includes('positions') || modalities.includes('angles')) {
        const angles = parseNumericCsv(readText(anglesPath), COLUMNS, `${source.root}/${anglesPath} (sample '${id}')`);
        let frames = angles.rows;
        if (frames < 2) throw new Error(`${source.root}/${anglesPath} (sample '${id}'): only ${frames} frame(s)`);
        let positions: Float64Array | undefined;
        if (modalities.includes('positions')) {
          const offsets = parseNumericCsv(readText(positionsPath), COLUMNS, `${source.root}/${positionsPath} (sample '${id}')`);
          if (offsets.rows !== angles.rows) {
            throw new Error(`${source.root}/${positionsPath} (sample '${id}'): ${offsets.rows} frames, but ${anglesPath} has ${angles.rows}`);
          }
          positions = uiprmdForwardKinematics(offsets.data, angles.data, frames, options.kinematics ?? 'zxy');
        }
        let angleData = angles.data;
        if (target !== undefined) {
          if (positions) positions = resampleRows(positions, frames, COLUMNS, target);
          angleData = resampleRows(angleData, frames, COLUMNS, target, true);
          frames = target;
        }
        if (positions) sample.modalities.positions = toFeature(positions, frames);
        if (modalities.includes('angles')) sample.modalities.angles = toFeature(angleData, frames);
      }
      if (modalities.includes('text')) {
        let embedding = textByExercise.get(exercise);
        if (!embedding) {
          embedding = hashTextEmbedding(describeUIPRMDExercise(exercise), textDim);
          textByExercise.set(exercise, embedding);
        }
        sample.modalities.text = { data: embedding.slice(), shape: [textDim] };
      }
      samples.push(sample);
    }
  }
  samples.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const actionIds = [...new Set(samples.map((s) => s.action))].sort();
  const actions: ActionInfo[] = actionIds.map((id) => ({
    id,
    name: UIPRMD_EXERCISES.find((e) => e.id === id)?.name ?? id,
    numGrades: 2,
    minGrade: 0,
    maxGrade: 1,
  }));
  return makeDataset(samples, actions, [...modalities], warnings);
}

function toFeature(data: Float64Array, frames: number): FeatureArray {
  return { data: Float32Array.from(data), shape: [frames, UIPRMD_JOINTS, 3] };
}

/** The text embedded for an exercise (template of the DualAlign paper, section 4.2, without subject or exam fields). */
export function describeUIPRMDExercise(exerciseId: string): string {
  const exercise = UIPRMD_EXERCISES.find((e) => e.id === exerciseId);
  return exercise ? `This is the action of ${exercise.name}. ${exercise.description}.` : `This is the action of ${exerciseId}.`;
}

export interface SubjectFold {
  fold: number;
  testSubjects: string[];
  train: Sample[];
  test: Sample[];
}

/**
 * Subject-wise k-fold cross-validation: subjects (sorted) are dealt round-robin into k
 * folds; each fold tests on its subjects and trains on all others, so no subject is ever
 * on both sides.
 */
export function subjectFolds(dataset: Pick<Dataset, 'samples'>, k: number): SubjectFold[] {
  const missing = dataset.samples.find((s) => s.subject === undefined);
  if (missing) throw new Error(`subjectFolds: sample '${missing.id}' has no subject`);
  const subjects = [...new Set(dataset.samples.map((s) => s.subject!))].sort();
  if (!Number.isInteger(k) || k < 2 || k > subjects.length) {
    throw new Error(`subjectFolds: k must be an integer in 2..${subjects.length} (the number of subjects), got ${k}`);
  }
  return Array.from({ length: k }, (_, fold) => {
    const testSubjects = subjects.filter((_, i) => i % k === fold);
    const held = new Set(testSubjects);
    return {
      fold,
      testSubjects,
      train: dataset.samples.filter((s) => !held.has(s.subject!)),
      test: dataset.samples.filter((s) => held.has(s.subject!)),
    };
  });
}
