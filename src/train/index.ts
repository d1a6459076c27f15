/**
 * Training, evaluation, robustness experiments and checkpoints (Node: they read and write files).
 * See docs in each module; the CLI (src/cli/main.ts) is a thin layer over these.
 */
export type { AQAModel, BatchPrediction, LoadedCheckpoint, LossTerms, ModelKit } from './types.js';
export {
  trainAction,
  findAction,
  actionSplit,
  hideLabels,
  deriveSeed,
  carveValidation,
  describeSelection,
  SELECTIONS,
  type Selection,
  type EpochMetrics,
  InterruptedError,
  UnknownActionError,
  type TrainActionOptions,
  type TrainActionResult,
  type TrainEvent,
  type EpochRecord,
} from './trainer.js';
export { evaluate, confusionMatrix, toModelGrades, type EvaluationResult } from './evaluate.js';
export {
  runExperiment,
  runModalityRobustness,
  runLabelRobustness,
  loadRunModels,
  dropModalities,
  selectActions,
  alphaOf,
  PAPER_RATES,
  type ExperimentOptions,
  type ExperimentResult,
  type ModalityRobustnessOptions,
  type LabelRobustnessOptions,
} from './experiment.js';
export { crossValidate, crossValidationTable, meanStd, subjectFoldsOf, type CrossValidationBaseline, type CrossValidationOptions, type CrossValidationResult, type MethodResult } from './crossval.js';
export { constantBaseline, ridgeBaseline, type BaselineResult, type RidgeOptions } from './baselines.js';
export { dualAlignKit, dualAlignConfigForData } from './dualalignKit.js';
export { pooledMlpKit, PooledMlp, type PooledMlpConfig } from './pooledMlp.js';
export { temporalConvKit, TemporalConvNet, anchorStream, type TemporalConvConfig } from './temporalConv.js';
export { KITS, METHOD_NAMES, methodName, kitByName, kitForCheckpoint, loadAnyCheckpoint } from './kits.js';
export { writeFileAtomic, writeJsonAtomic } from '../io/atomic.node.js';
export { loadTrainingData, detectDataFormat, DataFolderError, type TrainingDataOptions, type DataFormat } from './datasets.js';
export { runSeedsExperiment, type SeedsExperimentOptions } from './experiment.js';
export { runAblation, ablationVariants, fusionVariants, selectVariants, ablationMarkdown, ablationSvg, type AblationVariant, type AblationOptions, type AblationSummary, type AblationRow } from './ablation.js';
export { runBaselines, parseBaselines, BASELINES, DEFAULT_BASELINES, BASELINE_METHODS, type BaselineName, type BaselineRow, type BaselineFit } from './baselineSuite.js';
