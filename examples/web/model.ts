/**
 * The page's model glue: a small DualAlign config for the synthetic data, one training step and a
 * prediction. Checkpoints are bytes from `dualalign-gpu/io` (encodeCheckpoint / decodeCheckpoint,
 * the format `dualalign train` writes), so a checkpoint saved there loads here and one saved here loads there.
 */
import { DualAlign, collate, disposeBatch, resolveConfig, scope, Adam, modalityNames, PAPER_FUSION, type Optimizer, type DualAlignConfig, type Sample } from 'dualalign-gpu';

export const ALL_MODALITIES = ['video', 'flow', 'skeleton', 'image', 'text'] as const;

/** Feature sizes of the page's synthetic data (small, so SwiftShader and laptops train in seconds). */
export const SYNTH = {
  dims: { video: 48, flow: 48, image: 32, text: 32 },
  clips: 4,
  framesPerClip: 4,
  imageFrames: 8,
  joints: 26,
  skeletonChannels: 3,
} as const;

/** A small DualAlign for the page: the paper's layout (video anchor, SpatialEn with skeleton, TemporalEn with flow), narrow widths. */
export function pageConfig(numGrades: number, use: readonly string[], seed: number): DualAlignConfig {
  const cfg: DualAlignConfig = {
    numGrades,
    d1: 32,
    d2: 32,
    d3: Math.max(16, numGrades),
    heads: 4,
    dropout: 0.1,
    tau: 0.1,
    clips: SYNTH.clips,
    streams: [
      { name: 'video', kind: 'linear', inputDim: SYNTH.dims.video },
      { name: 'flow', kind: 'linear', inputDim: SYNTH.dims.flow },
      { name: 'skeleton', kind: 'graph', inputDim: SYNTH.skeletonChannels, layout: 'halpe26', gcnChannels: [16, 32], inputNorm: 'center' },
    ],
    anchor: 'video',
    fusion: PAPER_FUSION,
    image: { name: 'image', inputDim: SYNTH.dims.image, kernelSize: 3 },
    text: { name: 'text', inputDim: SYNTH.dims.text },
    removeModalities: ALL_MODALITIES.filter((m) => !use.includes(m)),
    seed,
  };
  resolveConfig(cfg); // throws the model's own message for a bad combination
  return cfg;
}

/** The modalities a model reads. */
export function modelModalities(model: DualAlign): string[] {
  return modalityNames(model.config);
}

export function makeOptimizer(model: DualAlign, lr: number): Optimizer {
  return new Adam(model.parameters(), { lr, weightDecay: 1e-4, maxGradNorm: 5 });
}

/** One optimizer step on `samples`; returns the loss. */
export async function trainStep(model: DualAlign, opt: Optimizer, samples: Sample[]): Promise<number> {
  model.train();
  let loss = NaN;
  await scope(async () => {
    const batch = collate(samples, model.userConfig);
    try {
      const terms = model.loss(batch);
      opt.zeroGrad();
      terms.total.backward();
      opt.step({ loss: terms.total });
      loss = await terms.total.item();
    } finally {
      disposeBatch(batch);
    }
  });
  return loss;
}

export interface GradeResult {
  probabilities: number[][];
  grades: number[];
  /** The expected grade under the probabilities (a continuous score for SRCC). */
  expected: number[];
  modalitiesPresent: Record<string, boolean>[];
}

export async function predict(model: DualAlign, samples: Sample[]): Promise<GradeResult> {
  const out: GradeResult = { probabilities: [], grades: [], expected: [], modalitiesPresent: [] };
  for (let i = 0; i < samples.length; i += 16) {
    const chunk = samples.slice(i, i + 16).map((s) => (s.grade === undefined ? s : { ...s, grade: undefined }));
    await scope(async () => {
      const batch = collate(chunk, model.userConfig);
      try {
        const p = await model.predict(batch);
        p.probabilities.forEach((row, k) => {
          const probs = Array.from(row);
          out.probabilities.push(probs);
          out.grades.push(p.grades ? p.grades[k]! : probs.indexOf(Math.max(...probs)));
          out.expected.push(probs.reduce((s, v, g) => s + v * g, 0));
          out.modalitiesPresent.push(p.modalitiesPresent[k]!);
        });
      } finally {
        disposeBatch(batch);
      }
    });
  }
  return out;
}
