/**
 * The part of dualalign-gpu's API that runs anywhere WebGPU does (Node with Dawn, or a browser):
 * tensors, ops, autograd, layers, optimizers, the model and its kernels. src/index.ts (Node) and
 * src/browser.ts (browser bundle) both re-export it, so a new browser-safe export is added here once.
 */
export { init, deviceInfo, sync, shutdown, gpuRuntime, isInitialized, type InitOptions, type DeviceInfo, type BackendChoice } from './gpu/init.js';
export { GpuError, ShapeError, NoAdapterError } from './gpu/errors.js';
export { selfTest, formatSelfTest, SELF_TEST_FAMILIES, type SelfTestReport, type SelfTestFamilyResult, type SelfTestOptions, type SelfTestFamily } from './doctor/selfTest.js';
export { profile, type ProfileOptions, type ProfileResult, type ProfileRow, type ProfileRowKind, type ChromeTraceEvent } from './gpu/profile.js';
export { Tensor } from './autograd/tensor.js';
export type { DType, TypedArray } from './backend/backend.js';
export { noGrad, tidy, scope, keep, isGradEnabled } from './autograd/engine.js';
export { tensor, zeros, ones, full, arange, eye, rand, randn, to, type CreateOptions } from './autograd/ops/creation.js';
export { manualSeed, Generator } from './autograd/ops/random.js';
// The plain elementwise ops (add, sub, mul, …, tanh): one function per SURFACE row of src/backend/op-table.ts.
export * from './autograd/ops/generated.js';
export { gelu, clamp, where, cast } from './autograd/ops/elementwise.js';
export { sum, mean, max, min, argmax, argmin, logsumexp } from './autograd/ops/reduce.js';
export { reshape, permute, transpose, expand, squeeze, unsqueeze, flatten, slice, split, concat, stack, indexSelect, oneHot, contiguous, zerosLike, onesLike } from './autograd/ops/shape.js';
export { matmul, linear } from './autograd/ops/linalg.js';
export { softmax, logSoftmax, layerNorm, l2Normalize, dropout } from './autograd/ops/nn.js';
export { fuse, Expr, MAX_FUSED_INPUTS } from './autograd/ops/fuse.js';
export { crossEntropy, mseLoss, type Reduction } from './autograd/ops/losses.js';
export { fromNdarray, toNdarray } from './interop.js';
export { Module, ModuleList, ModuleDict, StateDictError, writeTensor, describeStateDictDiff, type StateDict, type LoadStateDictResult, type HostArray } from './nn/module.js';
export { Linear, LayerNorm, Dropout, GELU, ReLU, Identity, Sequential, MLP, TemporalConv1d, type LinearOptions, type MLPOptions } from './nn/layers.js';
export { GraphConv, normalizedAdjacency, resolveLayout, JOINT_LAYOUTS, COCO17, HALPE26, KINECT25, UIPRMD22, type JointLayout, type JointLayoutSpec, type JointLayoutName, type Edge } from './nn/graph.js';
export { withParamOptions, paramOptions, kaimingUniform, xavierUniform, xavierNormal, type ParamOptions } from './nn/init.js';
export { Optimizer, SGD, Adam, AdamW, cosineAnnealing, linearWarmup, constantLr, clipGradNorm, optimizerPreset, type OptimizerState, type StepStatus, type LrScheduler, type PresetName } from './optim/index.js';
export { DualAlign, collate, disposeBatch, resolveConfig, skeletonOnlyConfig, simplexEtf, type Batch, type DualAlignConfig, type ResolvedConfig, type StreamSpec, type ForwardOutput, type LossOutput, type Prediction, type ModelSummary } from './models/index.js';
export {
  gramVolumeMatrix, contrastiveSoftmaxLoss, gramContrastiveLoss, cosineContrastiveLoss, oneStageGramLoss, safeL2Normalize,
  composedGramVolumeMatrix, composedGramContrastiveLoss, NORM_EPS, DEFAULT_TAU, MAX_MODALITIES, VOL_CLAMP,
  type GramVolumeOptions, type ContrastiveOptions as ContrastiveSoftmaxOptions, type ContrastiveReduction, type AlignmentLossOptions,
} from './alignment/index.js';
// Fused multi-head cross-attention (src/attention, wgsl/attention.wgsl) and its module.
export { crossAttention, checkAttentionArgs, MAX_FUSED_HEAD_DIM, type CrossAttentionOptions } from './attention/crossAttention.js';
export { crossAttentionUnfused } from './attention/reference.js';
export { setAttentionTuning, type AttnTuning, type AttnVariant } from './backend/webgpu/attention.js';
export { MultiHeadCrossAttention, type MultiHeadCrossAttentionOptions } from './nn/attention.js';
// Arrays, tensors and models as bytes (.npy/.npz, safetensors, checkpoints, allow-listed pickle); also the `dualalign-gpu/io` subpath.
export * from './io/index.js';
// Data in memory: samples, feature files, the synthetic MM-JDM generator, its seeded PRNG, and the metrics.
export type { Sample, FeatureArray, Dataset, ActionInfo } from './data/types.js';
export { decodeFeatureFile } from './data/plain.js';
export { toFeatureArray } from './data/dataset.js';
export { generateSyntheticMMJDM, type SyntheticOptions } from './data/synthetic.js';
export { MMJDM_ACTIONS } from './data/mmjdmSpec.js';
export { mulberry32, shuffleInPlace, type Rng } from './data/prng.js';
export { spearman, pearson } from './train/metrics.js';
export { carveValidation } from './train/split.js';
export { constantBaseline, ridgeBaseline, type BaselineResult, type RidgeOptions } from './train/baselines.js';
export { modalityNames, PAPER_FUSION } from './models/config.js';
