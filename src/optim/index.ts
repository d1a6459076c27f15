export { Optimizer, SGD, Adam, AdamW, type OptimizerKind, type OptimizerState, type StepStatus, type SGDOptions, type AdamOptions } from './optimizer.js';
export { cosineAnnealing, linearWarmup, constantLr, CosineAnnealing, LinearWarmup, ConstantLr, type LrScheduler } from './schedulers.js';
export { clipGradNorm } from './clip.js';
export { optimizerPreset, type PresetName, type PresetResult } from './presets.js';
