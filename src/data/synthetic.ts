/**
 * A synthetic stand-in for MM-JDM with the same shape: the 12 actions of Table 2 with
 * their grade ranges and (scaled) sample counts, clinical-style class imbalance, 29
 * subjects, and five modalities with MM-JDM's feature layout.
 *
 * How quality reaches the features, so that a linear model on time-pooled features is weak.
 * Every sample has a latent movement quality q in (0, 1), increasing with its grade (grade g
 * covers q in ((g+0.15)/G, (g+0.85)/G)). q sets the movement's tremor (stronger when q is low)
 * and a mid-movement hesitation; the movement's amplitude (effort, body size) is a nuisance
 * independent of q. The tremor is a zero-mean oscillation of random phase, so averaging a
 * modality over time cancels it: the grade is carried by per-frame structure (how much the
 * frames swing around their mean), which a per-frame nonlinearity before pooling (DualAlign's
 * clip encoders) can measure and a linear model on mean-pooled features cannot. Each modality
 * observes the movement
 *   - at its own time offset (a fixed lag per modality plus a per-sample jitter) and frame
 *     rate: the modalities are temporally misaligned;
 *   - mixed with nuisance factors of larger variance than the quality signal in the pooled
 *     features: a per-subject style shared by all modalities, strong per-sample private
 *     factors of each modality (lighting, viewpoint) and a slow camera shake of random
 *     amplitude;
 *   - through its own fixed random two-layer nonlinear map (movement envelope and nuisance)
 *     plus the tremor along a fixed random direction, with its own output scale, offset and
 *     noise level (video ~ signed, flow non-negative with a positive offset like ReLU
 *     features, image frames L2-normalised like CLIP), so raw features of different
 *     modalities are not comparable.
 * Measured (seeds 7, 11; actions 01, 03; scale 0.6): ridge on mean-pooled features reaches
 * test SRCC about -0.2..0.2, a short DualAlign run about 0.5-0.6; ridge on mean+std pooling,
 * which measures the swing per feature, is strong (~0.9): a yardstick, not a linear model.
 * The skeleton is generated kinematically instead: a 26-joint (Halpe-26 order) template
 * pose moved along an action-specific path whose size is a nuisance and whose tremor and
 * hesitation depend on q, projected to 512x512 pixel coordinates (x, y) with a detection
 * confidence channel.
 * The text is the paper's template (section 4.2) filled with the action and a subject
 * description, embedded with hashTextEmbedding; it never depends on grade or quality.
 *
 * Generator v2 (`generator: 'v2'`; the CLI's and the demo's default): the grade is carried jointly
 * by several modalities and by timing, so that no single modality and no time-pooled statistic
 * recovers it. Each recording shows a limb movement (a smooth bump of random centre, duration
 * and size) and a compensating trunk movement (a narrower bump of its own random size). Quality
 * sets how far apart the two happen: the trunk's centre is the limb's ± 0.3·(1 − q) of the
 * recording, the sign random (early: a trick movement; late: lost balance). The modalities
 * split the body: skeleton, video and CLIP frames see the limb, flow sees the trunk (a subtle
 * weight shift the pose estimator misses). Each mapped modality (video, flow, image) shows its
 * movement linearly along a fixed random direction plus the nonlinear map of a latent with the
 * movement, a camera wobble shared by all camera-derived modalities, the subject's style and
 * private per-recording factors, with per-element noise (0.3 of v1's); each sees the recording
 * through its own capture lag (video +0.02, flow −0.03, image +0.03 of the recording, times
 * `misalignment`) plus a per-sample jitter (0.01): the modalities are misaligned by less than a
 * clip, a fixed offset a model that relates moments across modalities can learn to undo.
 * What reaches the grade: the overlap in time of limb and trunk, i.e. the cross-modal covariance
 * of the features over the recording. The mean over time of any feature depends on its bump's
 * size and width only, its standard deviation likewise, and either bump alone sits at a random
 * time: a ridge on mean+std pooled features of all modalities stays near SRCC 0 (measured at the
 * demo's sizes, seeds 0-2, actions 01-03: -0.03 ± 0.12; on one modality below 0.3, the tests),
 * while a ridge on products of video and flow features at the same clip (their first three
 * within-recording principal components) reaches 0.58-0.83 (seed 0). The text, subjects, splits, counts and
 * imbalance are those of v1.
 *
 * Defaults (all options optional except seed):
 *   actions: all 12 (a number n takes the first n; or names / ids like 'Head Lift', '01')
 *   scale 0.25 of Table 2's counts (e.g. 31 Head Lift samples), or samplesPerAction
 *   clips 10, framesPerClip 16 (skeleton T = 160), imageFrames 103, joints 26,
 *   skeletonChannels 3 (x, y, confidence; a 4th is depth, more are zeros),
 *   dims { video: 768, flow: 1024, image: 512, text: 512 }, subjects 29,
 *   testFraction 0.3 stratified by grade within each action (splitBy 'subject' holds out
 *   whole subjects instead), noise 1, misalignment 1 (0 aligns the modalities), worldSeed
 *   0x5eed (the fixed modality maps: keep it to draw train and test sets from one world),
 *   generator 'v1' (the library keeps v1 as its default for existing callers; the CLI uses v2).
 * Three actions at the defaults (about 100 samples) take well under a second of CPU time.
 *
 * Deterministic: one seed gives identical data (own PRNG, no Math.random), and each
 * sample's draws come from its own derived stream.
 */
import { makeDataset } from './dataset.js';
import { MMJDM_ACTIONS, MMJDM_SUBJECTS, type MMJDMActionSpec, findMMJDMAction } from './mmjdmSpec.js';
import { type Rng, deriveRng, shuffleInPlace } from './prng.js';
import { hashTextEmbedding } from './textEmbedding.js';
import type { ActionInfo, Dataset, FeatureArray, Sample } from './types.js';

export const SYNTHETIC_MODALITIES = ['video', 'flow', 'skeleton', 'image', 'text'] as const;
export type SyntheticModality = (typeof SYNTHETIC_MODALITIES)[number];

export interface SyntheticOptions {
  seed: number;
  actions?: string[] | number;
  samplesPerAction?: number;
  scale?: number;
  clips?: number;
  framesPerClip?: number;
  imageFrames?: number;
  joints?: number;
  skeletonChannels?: number;
  dims?: Partial<Record<'video' | 'flow' | 'image' | 'text', number>>;
  subjects?: number;
  modalities?: SyntheticModality[];
  testFraction?: number;
  splitBy?: 'sample' | 'subject';
  noise?: number;
  misalignment?: number;
  worldSeed?: number;
  /** 'v1' (default here; the tremor world above) or 'v2' (cross-modal timing, see the header's second part). */
  generator?: SyntheticGenerator;
}

export const SYNTHETIC_GENERATORS = ['v1', 'v2'] as const;
export type SyntheticGenerator = (typeof SYNTHETIC_GENERATORS)[number];

/**
 * Relative grade frequencies per action (index = grade), mostly skewed toward grade 0.
 * Chosen so the full-scale diversity index alpha (Eq. 20) is close to the values the paper
 * reports (Fig. 16): action 01 ~5.8 (nearly uniform), 03 ~4.3, 12 ~1.0; 09 is the most
 * skewed that still has every grade (the paper's 0.00 would leave a single grade).
 */
const GRADE_WEIGHTS: Readonly<Record<string, readonly number[]>> = {
  '01': [10, 16, 26, 20, 28, 23],
  '02': [100, 24, 10],
  '03': [78, 26, 14, 9, 5, 4],
  '04': [110, 18, 6, 4, 2],
  '05': [60, 45, 30, 22, 16, 12, 8],
  '06': [70, 35, 18, 10],
  '07': [100, 16, 8, 4],
  '08': [95, 15, 8, 5, 3],
  '09': [110, 10, 5, 2],
  '10': [75, 35, 18, 10, 5],
  '11': [95, 14, 7, 4, 3],
  '12': [122, 6, 3, 2],
};

const ACTION_DESCRIPTIONS: Readonly<Record<string, string>> = {
  '01': 'Lying on the back, the child lifts the head off the mat and holds it up',
  '02': 'Lying on the back, the child lifts one straightened leg from the mat',
  '03': 'Lying on the back, the child lifts one leg and keeps it raised',
  '04': 'Lying on the back, the child rolls over onto the stomach',
  '05': 'The child performs a sit-up in one of six prescribed ways',
  '06': 'Lying on the back, the child sits up without using the hands',
  '07': 'Standing, the child lifts both arms forward and straightens the elbows',
  '08': 'Standing, the child raises both hands above the head and holds them there',
  '09': 'From standing, the child sits down on the floor',
  '10': 'From kneeling, the child stands up',
  '11': 'From sitting on a chair, the child stands up',
  '12': 'The child steps onto a low step with one foot',
};

/** Which template joints move for each action, and in which direction (x right, y up, z toward camera). */
type JointGroup = 'head' | 'arms' | 'leftLeg' | 'upper' | 'all' | 'pelvisDown' | 'pelvisUp';
const ACTION_MOTION: Readonly<Record<string, { group: JointGroup; direction: [number, number, number] }>> = {
  '01': { group: 'head', direction: [0, 0.25, 0.35] },
  '02': { group: 'leftLeg', direction: [0, 0.6, 0.3] },
  '03': { group: 'leftLeg', direction: [0, 0.55, 0.25] },
  '04': { group: 'all', direction: [0.5, 0.1, 0.3] },
  '05': { group: 'upper', direction: [0, 0.3, 0.5] },
  '06': { group: 'upper', direction: [0, 0.35, 0.55] },
  '07': { group: 'arms', direction: [0, 0.4, 0.6] },
  '08': { group: 'arms', direction: [0, 0.9, 0.1] },
  '09': { group: 'pelvisDown', direction: [0, -0.6, -0.2] },
  '10': { group: 'pelvisUp', direction: [0, 0.5, 0.1] },
  '11': { group: 'pelvisUp', direction: [0, 0.45, 0.2] },
  '12': { group: 'leftLeg', direction: [0.05, 0.3, 0.45] },
};

/** Halpe-26 joint order, template pose in body units (about 1 = body height). */
const TEMPLATE_26: ReadonlyArray<[number, number, number]> = [
  [0, 0.9, 0.05], [0.02, 0.92, 0.04], [-0.02, 0.92, 0.04], [0.05, 0.91, 0], [-0.05, 0.91, 0], // nose, eyes, ears
  [0.12, 0.78, 0], [-0.12, 0.78, 0], [0.16, 0.6, 0], [-0.16, 0.6, 0], [0.18, 0.44, 0.02], [-0.18, 0.44, 0.02], // shoulders, elbows, wrists
  [0.08, 0.46, 0], [-0.08, 0.46, 0], [0.09, 0.25, 0.01], [-0.09, 0.25, 0.01], [0.09, 0.04, 0], [-0.09, 0.04, 0], // hips, knees, ankles
  [0, 0.98, 0], [0, 0.8, 0], [0, 0.46, 0], // head top, neck, pelvis
  [0.1, 0, 0.07], [-0.1, 0, 0.07], [0.13, 0, 0.05], [-0.13, 0, 0.05], [0.09, 0, -0.03], [-0.09, 0, -0.03], // toes, heels
];
const GROUP_JOINTS: Readonly<Record<JointGroup, readonly number[]>> = {
  head: [0, 1, 2, 3, 4, 17],
  arms: [7, 8, 9, 10],
  leftLeg: [13, 15, 20, 22, 24],
  upper: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 18],
  all: Array.from({ length: 26 }, (_, j) => j),
  pelvisDown: Array.from({ length: 26 }, (_, j) => j).filter((j) => ![15, 16, 20, 21, 22, 23, 24, 25].includes(j)),
  pelvisUp: Array.from({ length: 26 }, (_, j) => j).filter((j) => ![15, 16, 20, 21, 22, 23, 24, 25].includes(j)),
};

/** Per-modality constants of the synthetic world (lag and jitter in sequence fractions, tremor and shake
 * amplitudes, private-factor scale, per-element noise, output scale and offset). */
const MODALITY_STYLE = {
  video: { lag: 0.06, jitter: 0.05, tremor: 2, shake: 0.6, privateScale: 1.3, noise: 0.3, outScale: 1.0, offset: 0.0 },
  flow: { lag: -0.08, jitter: 0.06, tremor: 2, shake: 0.7, privateScale: 1.2, noise: 0.25, outScale: 2.5, offset: 12 },
  image: { lag: 0.1, jitter: 0.05, tremor: 0.6, shake: 0.8, privateScale: 1.4, noise: 0.4, outScale: 1.0, offset: 0.0 },
} as const;
type MappedModality = keyof typeof MODALITY_STYLE;

const LATENT = 11; // [envelope, velocity, camera shake, 3 subject style, 3 private, action code, 1]
const HIDDEN = 16;

interface SubjectProfile {
  id: string;
  age: number;
  girl: boolean;
  style: [number, number, number];
  bodyScale: number;
  camera: { scale: number; dx: number; dy: number };
}

interface ModalityMap {
  w1: Float32Array; // [HIDDEN, LATENT]
  w2t: Float32Array; // [HIDDEN, dim]: the output layer, transposed for contiguous accumulation
  bias: Float32Array; // [dim]
  tremor: Float32Array; // [dim]: how the tremor shows in every frame's features
}

export function generateSyntheticMMJDM(options: SyntheticOptions): Dataset {
  const seed = options.seed;
  if (!Number.isInteger(seed)) throw new Error(`generateSyntheticMMJDM: seed must be an integer, got ${String(seed)}`);
  const clips = positiveInt(options.clips ?? 10, 'clips');
  const framesPerClip = positiveInt(options.framesPerClip ?? 16, 'framesPerClip');
  const imageFrames = positiveInt(options.imageFrames ?? 103, 'imageFrames');
  const joints = positiveInt(options.joints ?? 26, 'joints');
  const channels = positiveInt(options.skeletonChannels ?? 3, 'skeletonChannels');
  const dims = {
    video: positiveInt(options.dims?.video ?? 768, 'dims.video'),
    flow: positiveInt(options.dims?.flow ?? 1024, 'dims.flow'),
    image: positiveInt(options.dims?.image ?? 512, 'dims.image'),
    text: positiveInt(options.dims?.text ?? 512, 'dims.text'),
  };
  const subjectCount = positiveInt(options.subjects ?? MMJDM_SUBJECTS, 'subjects');
  const modalities = options.modalities ?? [...SYNTHETIC_MODALITIES];
  for (const m of modalities) if (!SYNTHETIC_MODALITIES.includes(m)) throw new Error(`generateSyntheticMMJDM: unknown modality '${m}'`);
  const testFraction = options.testFraction ?? 0.3;
  if (!(testFraction >= 0 && testFraction < 1)) throw new Error(`generateSyntheticMMJDM: testFraction must be in [0, 1), got ${testFraction}`);
  const noise = nonNegative(options.noise ?? 1, 'noise');
  const misalignment = nonNegative(options.misalignment ?? 1, 'misalignment');
  const worldSeed = options.worldSeed ?? 0x5eed;
  const generator = options.generator ?? 'v1';
  if (!SYNTHETIC_GENERATORS.includes(generator)) throw new Error(`generateSyntheticMMJDM: unknown generator '${String(generator)}' (${SYNTHETIC_GENERATORS.join(', ')})`);
  const specs = selectActions(options.actions);

  const subjects = makeSubjects(seed, subjectCount);
  const maps = {
    video: makeModalityMap(worldSeed, 'video', dims.video),
    flow: makeModalityMap(worldSeed, 'flow', dims.flow),
    image: makeModalityMap(worldSeed, 'image', dims.image),
  };
  const noiseTable = makeNormalTable(worldSeed);
  const textCache = new Map<string, Float32Array>();

  const samples: Sample[] = [];
  const actions: ActionInfo[] = [];
  for (const spec of specs) {
    const numGrades = spec.maxGrade + 1;
    actions.push({ id: spec.id, name: spec.name, numGrades, minGrade: 0, maxGrade: spec.maxGrade });
    const count = options.samplesPerAction ?? Math.max(numGrades * 2, Math.round(spec.samples * (options.scale ?? 0.25)));
    positiveInt(count, 'samplesPerAction');
    const grades = shuffleInPlace(gradeCounts(GRADE_WEIGHTS[spec.id]!, count).flatMap((n, g) => new Array<number>(n).fill(g)), deriveRng(seed, 'grades', spec.id));
    const actionSamples: Sample[] = grades.map((grade, index) => {
      const rng = deriveRng(seed, 'sample', spec.id, index);
      const quality = (grade + 0.15 + 0.7 * rng.next()) / numGrades;
      // Subjects are drawn independently of quality, so the text (action + subject) says nothing about the grade.
      const subject = subjects[rng.int(subjects.length)]!;
      const sample: Sample = {
        id: `JDM${spec.id}_${String(index + 1).padStart(4, '0')}`,
        action: spec.id,
        subject: subject.id,
        grade,
        modalities: {},
      };
      const actionCode = (Number(spec.id) - 6.5) / 6;
      const movement = generator === 'v1' ? drawMovement(quality, rng) : null;
      const coordination = generator === 'v2' ? drawCoordination(quality, misalignment, rng) : null;
      for (const modality of modalities) {
        let feature: FeatureArray;
        if (coordination) {
          feature =
            modality === 'skeleton'
              ? renderSkeleton(spec.id, coordination.limb, subject, clips * framesPerClip, joints, channels, noise, rng, noiseTable)
              : modality === 'text'
                ? textFeature(spec, subject, dims.text, textCache)
                : renderCoordinated(modality, maps[modality], modality === 'image' ? imageFrames : clips, coordination, subject, actionCode, noise, rng, noiseTable);
        } else if (modality === 'skeleton') {
          feature = renderSkeleton(spec.id, movement!, subject, clips * framesPerClip, joints, channels, noise, rng, noiseTable);
        } else if (modality === 'text') {
          const text = describeSyntheticSample(spec, subject);
          let embedding = textCache.get(text);
          if (!embedding) {
            embedding = hashTextEmbedding(text, dims.text);
            textCache.set(text, embedding);
          }
          feature = { data: embedding.slice(), shape: [dims.text] };
        } else {
          const steps = modality === 'image' ? imageFrames : clips;
          feature = renderMapped(modality, maps[modality], steps, movement!, quality, subject, actionCode, noise, misalignment, rng, noiseTable);
        }
        sample.modalities[modality] = feature;
      }
      return sample;
    });
    assignSplits(actionSamples, testFraction, options.splitBy ?? 'sample', subjects, seed, spec.id);
    samples.push(...actionSamples);
  }
  return makeDataset(samples, actions, [...modalities]);
}

function textFeature(spec: MMJDMActionSpec, subject: SubjectProfile, dim: number, cache: Map<string, Float32Array>): FeatureArray {
  const text = describeSyntheticSample(spec, subject);
  let embedding = cache.get(text);
  if (!embedding) {
    embedding = hashTextEmbedding(text, dim);
    cache.set(text, embedding);
  }
  return { data: embedding.slice(), shape: [dim] };
}

/** The §4.2-style description of a synthetic sample. Depends on action and subject only. */
export function describeSyntheticSample(action: Pick<MMJDMActionSpec, 'id' | 'name'>, subject: { age: number; girl: boolean }): string {
  const who = `a ${subject.age}-year-old ${subject.girl ? 'girl' : 'boy'} with juvenile dermatomyositis`;
  return `This is the action of ${action.name.toLowerCase()}. ${ACTION_DESCRIPTIONS[action.id] ?? action.name}. The subject of the video is ${who}.`;
}

// ---- setup ---------------------------------------------------------------------------------

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`generateSyntheticMMJDM: ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`generateSyntheticMMJDM: ${name} must be >= 0, got ${value}`);
  return value;
}

function selectActions(actions: SyntheticOptions['actions']): MMJDMActionSpec[] {
  if (actions === undefined) return [...MMJDM_ACTIONS];
  if (typeof actions === 'number') {
    if (!Number.isInteger(actions) || actions < 1 || actions > MMJDM_ACTIONS.length) {
      throw new Error(`generateSyntheticMMJDM: actions must be 1..${MMJDM_ACTIONS.length}, got ${actions}`);
    }
    return MMJDM_ACTIONS.slice(0, actions);
  }
  return actions.map((key) => {
    const spec = findMMJDMAction(key);
    if (!spec) throw new Error(`generateSyntheticMMJDM: unknown action '${key}' (known: ${MMJDM_ACTIONS.map((a) => `${a.id} ${a.name}`).join(', ')})`);
    return spec;
  });
}

/** Splits `total` by `weights` (largest remainder), giving every grade at least one sample when possible. */
export function gradeCounts(weights: readonly number[], total: number): number[] {
  const g = weights.length;
  const floor = total >= g ? 1 : 0;
  const rest = total - floor * g;
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w / sum) * rest);
  const counts = exact.map((x) => Math.floor(x) + floor);
  let missing = total - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; missing > 0; k = (k + 1) % g, missing--) counts[order[k]![1]]!++;
  return counts;
}

function makeSubjects(seed: number, count: number): SubjectProfile[] {
  return Array.from({ length: count }, (_, i) => {
    const rng = deriveRng(seed, 'subject', i);
    return {
      id: `S${String(i + 1).padStart(2, '0')}`,
      age: 3 + rng.int(13),
      girl: rng.next() < 0.5,
      style: [rng.normal(), rng.normal(), rng.normal()],
      bodyScale: 0.85 + 0.3 * rng.next(),
      camera: { scale: 0.8 + 0.4 * rng.next(), dx: 40 * rng.normal(), dy: 30 * rng.normal() },
    };
  });
}

function makeModalityMap(worldSeed: number, modality: string, dim: number): ModalityMap {
  const rng = deriveRng(worldSeed, 'map', modality);
  const w1 = new Float32Array(HIDDEN * LATENT);
  const w2t = new Float32Array(HIDDEN * dim);
  const bias = new Float32Array(dim);
  const s1 = 1.6 / Math.sqrt(LATENT);
  const s2 = 1 / Math.sqrt(HIDDEN);
  for (let i = 0; i < w1.length; i++) w1[i] = rng.normal() * s1;
  for (let i = 0; i < w2t.length; i++) w2t[i] = rng.normal() * s2;
  for (let i = 0; i < dim; i++) bias[i] = rng.normal() * 0.3;
  const tremor = Float32Array.from({ length: dim }, () => rng.normal());
  return { w1, w2t, bias, tremor };
}

/** A table of standard normals indexed by random integers: the per-element noise is the hot loop. */
function makeNormalTable(worldSeed: number): Float32Array {
  const rng = deriveRng(worldSeed, 'normals');
  const table = new Float32Array(1 << 16);
  for (let i = 0; i < table.length; i++) table[i] = rng.normal();
  return table;
}

function assignSplits(
  samples: Sample[],
  testFraction: number,
  splitBy: 'sample' | 'subject',
  subjects: SubjectProfile[],
  seed: number,
  actionId: string,
): void {
  if (splitBy === 'subject') {
    const order = shuffleInPlace(subjects.map((s) => s.id), deriveRng(seed, 'subject-split'));
    const test = new Set(order.slice(0, Math.round(order.length * testFraction)));
    for (const s of samples) s.split = test.has(s.subject!) ? 'test' : 'train';
    return;
  }
  const rng = deriveRng(seed, 'split', actionId);
  const byGrade = new Map<number, Sample[]>();
  for (const s of samples) byGrade.set(s.grade!, [...(byGrade.get(s.grade!) ?? []), s]);
  for (const group of byGrade.values()) {
    shuffleInPlace(group, rng);
    const testCount = group.length < 2 ? 0 : Math.round(group.length * testFraction);
    group.forEach((s, i) => (s.split = i < testCount ? 'test' : 'train'));
  }
}

// ---- the latent movement ---------------------------------------------------------------------

interface Movement {
  quality: number;
  onset: number;
  duration: number;
  amplitude: number;
  tremor: number;
  tremorFrequency: number;
  tremorPhase: number;
  hesitation: number;
}

function drawMovement(quality: number, rng: Rng): Movement {
  return {
    quality,
    onset: 0.05 + 0.2 * rng.next(),
    duration: 0.5 + 0.3 * rng.next(),
    // Effort and body size vary from recording to recording independently of quality.
    amplitude: 0.7 * Math.exp(0.35 * rng.normal()),
    tremor: 0.02 + 0.5 * (1 - quality) * (0.8 + 0.2 * rng.next()),
    tremorFrequency: 6 + 5 * rng.next(),
    tremorPhase: 2 * Math.PI * rng.next(),
    hesitation: 0.6 * (1 - quality) * (0.5 + 0.5 * rng.next()),
  };
}

const bump = (x: number): number => (x <= 0 || x >= 1 ? 0 : Math.sin(Math.PI * x) ** 2);

/** Movement envelope and tremor at normalised time tau (0..1 over the recording). */
function movementAt(m: Movement, tau: number): { envelope: number; tremor: number } {
  const x = (tau - m.onset) / m.duration;
  const dip = Math.exp(-(((x - 0.5) / 0.12) ** 2));
  const envelope = m.amplitude * bump(x) * (1 - m.hesitation * dip);
  return { envelope, tremor: tremorAt(m, tau, m.tremorFrequency) };
}

/** The latent row's nuisance part, shared by both generators: subject style, the recording's private factors, the action, a bias. */
function setNuisance(z: Float32Array, subject: { style: ArrayLike<number> }, privateFactors: readonly number[], actionCode: number): void {
  for (let i = 0; i < 3; i++) z[3 + i] = 0.8 * subject.style[i]!;
  for (let i = 0; i < 3; i++) z[6 + i] = privateFactors[i]!;
  z[9] = actionCode;
  z[10] = 1;
}

/** The tremor at tau, at `cycles` oscillations per recording; strongest during the movement. */
function tremorAt(m: Movement, tau: number, cycles: number): number {
  const x = (tau - m.onset) / m.duration;
  return m.tremor * Math.sin(2 * Math.PI * cycles * tau + m.tremorPhase) * (0.3 + 0.7 * Math.sqrt(bump(x)));
}

// ---- mapped modalities (video, flow, image) --------------------------------------------------

function renderMapped(
  modality: MappedModality,
  map: ModalityMap,
  steps: number,
  movement: Movement,
  quality: number,
  subject: SubjectProfile,
  actionCode: number,
  noise: number,
  misalignment: number,
  rng: Rng,
  normals: Float32Array,
): FeatureArray {
  const style = MODALITY_STYLE[modality];
  const dim = map.bias.length;
  const out = new Float32Array(steps * dim);
  const shift = misalignment * (style.lag + style.jitter * rng.normal());
  // Camera shake: a slow wobble of its own amplitude and phase per sample, quality-free.
  const shake = style.shake * Math.abs(rng.normal());
  const shakeFrequency = 1 + 2 * rng.next();
  const shakePhase = 2 * Math.PI * rng.next();
  const privateFactors = [rng.normal(), rng.normal(), rng.normal()].map((v) => v * style.privateScale);
  const z = new Float32Array(LATENT);
  const h = new Float32Array(HIDDEN);
  const dt = 1 / steps;
  // The tremor as this modality samples it: about one cycle per 2.3-3.3 steps, so per-step features
  // swing around their mean and pooling over time averages it out.
  const tremorCycles = steps * (0.3 + 0.13 * rng.next());

  /** The noise-free features at normalised time tau, written into `row`. */
  const cleanRow = (tau: number, row: Float32Array): void => {
    const now = movementAt(movement, tau);
    const before = movementAt(movement, tau - dt);
    z[0] = 2 * now.envelope;
    z[1] = (now.envelope - before.envelope) / dt / 4;
    z[2] = shake * Math.sin(2 * Math.PI * shakeFrequency * tau + shakePhase);
    setNuisance(z, subject, privateFactors, actionCode);
    applyMap(map, style, z, h, row);
  };

  renderRows(modality, steps, dim, shift, cleanRow, out);

  const tremorAlong = (t: number): number => style.outScale * style.tremor * Math.tanh(2 * tremorAt(movement, (t + 0.5) * dt + shift, tremorCycles));
  finishRows(modality, map, out, steps, style.noise * noise, rng, normals, tremorAlong);
  return { data: out, shape: [steps, dim] };
}

// ---- generator v2: the grade in cross-modal timing ------------------------------------------------

/** v2's per-modality capture lags (sequence fractions, scaled by `misalignment`) and their per-sample jitter. */
const V2_LAG: Readonly<Record<MappedModality, number>> = { video: 0.02, flow: -0.03, image: 0.03 };
const V2_JITTER = 0.01;
/** Largest limb-trunk asynchrony (sequence fraction), reached at quality 0. */
const V2_MAX_ASYNC = 0.3;
/** Strength of the movement along each mapped modality's fixed direction. */
const V2_SIGNAL = 1.5;
/** v2's per-element noise relative to v1's. */
const V2_NOISE = 0.3;

interface Coordination {
  /** The limb movement (skeleton, video, CLIP frames); no tremor, no hesitation. */
  limb: Movement;
  /** The trunk's compensating movement (flow): a bump of its own width and size. */
  trunk: { start: number; width: number; amplitude: number };
  /** The camera's slow wobble, one per recording, seen by every camera-derived modality. */
  shake: { amplitude: number; frequency: number; phase: number };
  /** Capture lag of each mapped modality: a fixed lag plus per-sample jitter. */
  shift: Record<MappedModality, number>;
}

function drawCoordination(quality: number, misalignment: number, rng: Rng): Coordination {
  const duration = 0.25 + 0.1 * rng.next();
  const centre = 0.35 + 0.3 * rng.next();
  const limb: Movement = {
    quality,
    onset: centre - duration / 2,
    duration,
    amplitude: 0.8 * Math.exp(0.25 * rng.normal()),
    tremor: 0,
    tremorFrequency: 0,
    tremorPhase: 0,
    hesitation: 0,
  };
  // Asynchrony grows as quality falls; its sign (trunk early: a trick movement; late: lost balance) is random.
  const asynchrony = (rng.next() < 0.5 ? -1 : 1) * V2_MAX_ASYNC * (1 - quality);
  const width = 0.2 + 0.05 * rng.next();
  const trunk = { start: centre + asynchrony - width / 2, width, amplitude: 0.8 * Math.exp(0.25 * rng.normal()) };
  const shake = { amplitude: 0.3 * Math.abs(rng.normal()), frequency: 1 + 2 * rng.next(), phase: 2 * Math.PI * rng.next() };
  const shift = {} as Record<MappedModality, number>;
  for (const m of ['video', 'flow', 'image'] as const) shift[m] = misalignment * (V2_LAG[m] + V2_JITTER * rng.normal());
  return { limb, trunk, shake, shift };
}

/** Video and CLIP frames see the limb, flow the trunk; all see the shared shake, each through its own lag. */
function renderCoordinated(
  modality: MappedModality,
  map: ModalityMap,
  steps: number,
  m: Coordination,
  subject: SubjectProfile,
  actionCode: number,
  noise: number,
  rng: Rng,
  normals: Float32Array,
): FeatureArray {
  const style = MODALITY_STYLE[modality];
  const dim = map.bias.length;
  const out = new Float32Array(steps * dim);
  const privateFactors = [rng.normal(), rng.normal(), rng.normal()].map((v) => v * style.privateScale);
  const z = new Float32Array(LATENT);
  const h = new Float32Array(HIDDEN);
  const dt = 1 / steps;
  const signal = (tau: number): number =>
    modality === 'flow' ? m.trunk.amplitude * bump((tau - m.trunk.start) / m.trunk.width) : movementAt(m.limb, tau).envelope;
  const cleanRow = (tau: number, row: Float32Array): void => {
    const now = signal(tau);
    z[0] = now;
    z[1] = (now - signal(tau - dt)) / dt / 8;
    z[2] = m.shake.amplitude * Math.sin(2 * Math.PI * m.shake.frequency * tau + m.shake.phase);
    setNuisance(z, subject, privateFactors, actionCode);
    applyMap(map, style, z, h, row);
  };
  renderRows(modality, steps, dim, m.shift[modality], cleanRow, out);
  // The movement itself along the map's fixed direction, linearly (like v1's tremor): visible, but its timing is what matters.
  const along = (t: number): number => style.outScale * V2_SIGNAL * signal((t + 0.5) * dt + m.shift[modality]);
  finishRows(modality, map, out, steps, V2_NOISE * style.noise * noise, rng, normals, along);
  return { data: out, shape: [steps, dim] };
}

/** row = outScale * (bias + W2 tanh(W1 z)) + offset, accumulated column by column (contiguous loops: the hot path). */
function applyMap(map: ModalityMap, style: (typeof MODALITY_STYLE)[MappedModality], z: Float32Array, h: Float32Array, row: Float32Array): void {
  const dim = map.bias.length;
  for (let i = 0; i < HIDDEN; i++) {
    let acc = 0;
    for (let k = 0; k < LATENT; k++) acc += map.w1[i * LATENT + k]! * z[k]!;
    h[i] = Math.tanh(acc);
  }
  for (let c = 0; c < dim; c++) row[c] = style.outScale * map.bias[c]! + style.offset;
  for (let i = 0; i < HIDDEN; i++) {
    const coefficient = style.outScale * h[i]!;
    const column = i * dim;
    for (let c = 0; c < dim; c++) row[c] = row[c]! + coefficient * map.w2t[column + c]!;
  }
}

/**
 * Fills out [steps, dim] with cleanRow at each step's time (shifted). Image frames (many, and
 * smooth like consecutive CLIP frame embeddings) are computed at every 4th frame and
 * interpolated; video and flow clips are computed one by one.
 */
function renderRows(modality: MappedModality, steps: number, dim: number, shift: number, cleanRow: (tau: number, row: Float32Array) => void, out: Float32Array): void {
  const dt = 1 / steps;
  const keys = modality === 'image' && steps > 32 ? Math.ceil(steps / 4) + 1 : steps;
  if (keys === steps) {
    for (let t = 0; t < steps; t++) cleanRow((t + 0.5) * dt + shift, out.subarray(t * dim, (t + 1) * dim));
    return;
  }
  const keyRows = new Float32Array(keys * dim);
  for (let k = 0; k < keys; k++) {
    const position = (k * (steps - 1)) / (keys - 1);
    cleanRow((position + 0.5) * dt + shift, keyRows.subarray(k * dim, (k + 1) * dim));
  }
  for (let t = 0; t < steps; t++) {
    const position = (t * (keys - 1)) / (steps - 1);
    const k0 = Math.min(keys - 2, Math.floor(position));
    const w = position - k0;
    const a = k0 * dim;
    const b = a + dim;
    const row = t * dim;
    for (let c = 0; c < dim; c++) out[row + c] = (1 - w) * keyRows[a + c]! + w * keyRows[b + c]!;
  }
}

/**
 * Adds per-element noise (a table of normals indexed by a cheap LCG seeded from the sample's
 * stream) and, per step, `along(t)` times the map's fixed direction; flow is clipped at 0 (ReLU
 * features) and image frames are L2-normalised (CLIP).
 */
function finishRows(modality: MappedModality, map: ModalityMap, out: Float32Array, steps: number, noiseScale: number, rng: Rng, normals: Float32Array, along: ((t: number) => number) | null): void {
  const dim = map.bias.length;
  let noiseState = (rng.next() * 4294967296) | 0;
  for (let t = 0; t < steps; t++) {
    const row = t * dim;
    const extra = along ? along(t) : 0;
    let norm = 0;
    for (let c = 0; c < dim; c++) {
      noiseState = (Math.imul(noiseState, 1664525) + 1013904223) | 0;
      let value = out[row + c]! + extra * map.tremor[c]! + noiseScale * normals[noiseState >>> 16]!;
      if (modality === 'flow' && value < 0) value = 0;
      out[row + c] = value;
      norm += value * value;
    }
    if (modality === 'image' && norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let c = 0; c < dim; c++) out[row + c] = out[row + c]! * inv;
    }
  }
}

// ---- skeleton -----------------------------------------------------------------------------------

function templateJoint(j: number): [number, number, number] {
  if (j < TEMPLATE_26.length) return TEMPLATE_26[j]!;
  // Extra joints (joints > 26) sit between two template joints.
  const a = TEMPLATE_26[j % 26]!;
  const b = TEMPLATE_26[(j + 7) % 26]!;
  return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2];
}

function renderSkeleton(
  actionId: string,
  movement: Movement,
  subject: SubjectProfile,
  frames: number,
  joints: number,
  channels: number,
  noise: number,
  rng: Rng,
  normals: Float32Array,
): FeatureArray {
  const motion = ACTION_MOTION[actionId]!;
  const moving = new Set(GROUP_JOINTS[motion.group]);
  const out = new Float32Array(frames * joints * channels);
  // Recordings come from different devices: zoom, framing and viewpoint change per sample.
  const pixels = 280 * subject.camera.scale * subject.bodyScale * Math.exp(0.2 * rng.normal());
  const cx = 256 + subject.camera.dx + 25 * rng.normal();
  const cy = 420 + subject.camera.dy + 15 * rng.normal();
  const view = 0.45 * rng.normal(); // rotation about the vertical axis, radians
  const cosView = Math.cos(view);
  const sinView = Math.sin(view);
  const jitter = 6 * noise; // keypoint noise in pixels
  let noiseState = (rng.next() * 4294967296) | 0;
  const gaussian = (): number => {
    noiseState = (Math.imul(noiseState, 1664525) + 1013904223) | 0;
    return normals[noiseState >>> 16]!;
  };
  // Each joint gets its own lever (distal joints move more) and tremor phase.
  const lever = Array.from({ length: joints }, (_, j) => (moving.has(j % 26) ? 0.6 + 0.4 * templateJoint(j)[1] + 0.2 * rng.next() : 0));
  const phase = Array.from({ length: joints }, () => 2 * Math.PI * rng.next());
  for (let t = 0; t < frames; t++) {
    const tau = (t + 0.5) / frames;
    const { envelope, tremor } = movementAt(movement, tau);
    for (let j = 0; j < joints; j++) {
      const [bx, by, bz] = templateJoint(j);
      const l = lever[j]!;
      const wobble = tremor * Math.sin(phase[j]! + 3 * tau) * l;
      const x = bx + l * envelope * motion.direction[0] + 0.5 * wobble;
      const y = by + l * envelope * motion.direction[1] + wobble;
      const z = bz + l * envelope * motion.direction[2];
      const base = (t * joints + j) * channels;
      // Orthographic camera, rotated by the sample's viewpoint.
      out[base] = cx + pixels * (cosView * x + sinView * z) + jitter * gaussian();
      if (channels > 1) out[base + 1] = cy - pixels * y + jitter * gaussian();
      if (channels > 2) {
        // Detection confidence: lower for oblique views and, a little, for trembling joints.
        const confidence = 0.92 - 0.2 * Math.abs(sinView) - 0.06 * Math.abs(gaussian());
        out[base + 2] = Math.min(1, Math.max(0.05, confidence));
      }
      if (channels > 3) out[base + 3] = cosView * z - sinView * x;
    }
  }
  return { data: out, shape: [frames, joints, channels] };
}
