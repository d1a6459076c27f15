/**
 * What the trainer needs from a model, so one training / evaluation / robustness loop serves
 * DualAlign (src/models) and the small pooled-feature MLP used as a fallback and baseline.
 *
 * A ModelKit bundles the model class with its batch collation and checkpoint format:
 *   config = kit.configFor(dataset, action, overrides)      per-action config (input dims, grades)
 *   model  = kit.create(config)                              a Module with loss() and predict()
 *   batch  = kit.collate(samples, config)                    host samples -> device tensors
 *   model.loss(batch).total.backward(); ...; kit.disposeBatch(batch)
 *   await kit.save(path, model, extra); const { model, config, extra } = await kit.load(path)
 */
import type { Tensor } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import type { ActionInfo, Dataset, Sample } from '../data/types.js';

/** The loss terms of Eq. (3): total = grade + λ1·vfs + λ2·vit (the MLP only has `grade`). */
export interface LossTerms {
  total: Tensor;
  grade?: Tensor;
  vfs?: Tensor;
  vit?: Tensor;
}

/** Per-sample predictions for a batch. */
export interface BatchPrediction {
  /** Predicted grade (Eq. 1: the nearest prototype), in the action's grade range. */
  grades: ArrayLike<number>;
  /** A continuous score (the expected grade under `probabilities`). */
  scores: ArrayLike<number>;
  /** Probability of each grade, one array per sample (index 0 = minGrade). */
  probabilities: ArrayLike<number>[] | ArrayLike<ArrayLike<number>>;
  /** Which modalities each sample had (the rest were replaced by placeholders). */
  modalitiesPresent: unknown;
}

/** A trainable AQA model: a Module with the two calls the trainer makes. */
export interface AQAModel extends Module {
  loss(batch: any): LossTerms;
  predict(batch: any): Promise<BatchPrediction>;
}

export interface LoadedCheckpoint<C = unknown> {
  model: AQAModel;
  config: C;
  extra: Record<string, unknown>;
}

export interface ModelKit<C = any> {
  /** 'dualalign' or 'mlp'. */
  readonly name: string;
  /** One line for logs: what this kit builds. */
  describe(config: C): string;
  /**
   * The config for one action-specific model: input sizes read from the data (`trainSamples`
   * may be used for statistics such as feature normalisation), grades from `action`,
   * `overrides` applied last (e.g. reduced dims for the demo).
   */
  configFor(dataset: Pick<Dataset, 'modalities'>, action: ActionInfo, trainSamples: readonly Sample[], overrides?: Record<string, unknown>): C;
  create(config: C): AQAModel;
  collate(samples: readonly Sample[], config: C): unknown;
  disposeBatch(batch: unknown): void;
  /** Whether collate/loss accept samples without a grade (used only by the alignment losses). */
  readonly supportsUnlabeled: boolean;
  save(path: string, model: AQAModel, config: C, extra: Record<string, unknown>): Promise<void>;
  load(path: string): Promise<LoadedCheckpoint<C>>;
}
