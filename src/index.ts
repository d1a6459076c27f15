/**
 * dualalign-gpu: a WebGPU tensor + autograd engine with hand-written WGSL kernels, and the
 * DualAlign model for multi-modal action quality assessment built on it.
 */
export * from './core.js';
// Training, evaluation, robustness experiments, checkpoints and result folders (Node: files on disk).
export {
  trainAction, runExperiment, runModalityRobustness, runLabelRobustness, loadRunModels, crossValidate, crossValidationTable, loadTrainingData, detectDataFormat,
  dropModalities, hideLabels, findAction, actionSplit, selectActions, alphaOf, PAPER_RATES,
  dualAlignKit, pooledMlpKit, PooledMlp, KITS, kitByName, kitForCheckpoint, loadAnyCheckpoint, InterruptedError, UnknownActionError,
  temporalConvKit, TemporalConvNet, describeSelection, runSeedsExperiment, runAblation, ablationVariants, runBaselines, DEFAULT_BASELINES,
  methodName,
  type Selection, type TrainActionOptions, type TrainActionResult, type TrainEvent, type EpochRecord,
  type ExperimentOptions, type ExperimentResult, type CrossValidationResult, type TrainingDataOptions,
} from './train/index.js';
export { svgToPng, writeFigure } from './report/png.js';
export { loadPlainDataset, writePlainDataset } from './data/plain.node.js';
export { loadMMJDM } from './data/mmjdm.node.js';
export { loadUIPRMD, isUIPRMDAvailable, defaultUIPRMDDir } from './data/uiprmd.node.js';
// Files (Node): checkpoints and arrays on disk, written atomically; also the `dualalign-gpu/io` subpath.
export { saveCheckpoint, loadCheckpoint, loadCheckpointInto, readCheckpoint, readNpyFile, readNpzFile, writeNpyFile, writeNpzFile, nodeInflateRaw, writeFileAtomic, writeJsonAtomic } from './io/index.node.js';
