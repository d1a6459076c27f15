/**
 * The browser entry of dualalign-gpu (bundled to dist/browser/index.js by scripts/build.mjs, with
 * Dawn swapped for navigator.gpu). It re-exports the browser-safe part of src/index.ts: everything
 * except what needs Node (file-system loaders, `*.node.ts`). test/browser/api.test.ts checks that
 * the two entries agree, so a new export of src/index.ts that is browser-safe must be added here.
 *
 * `init()` differs only in its error: without WebGPU it throws a NoAdapterError whose hint is for a
 * browser user (which browsers, which flag, secure context, or `init({ backend: 'cpu' })`).
 */
import { init as initAny, type InitOptions, type DeviceInfo } from './gpu/init.js';
import { NoAdapterError } from './gpu/errors.js';

export { deviceInfo, sync, shutdown, gpuRuntime, isInitialized, type InitOptions, type DeviceInfo, type BackendChoice } from './gpu/init.js';
export { GpuError, ShapeError, NoAdapterError } from './gpu/errors.js';
export { Tensor } from './autograd/tensor.js';
export type { DType, TypedArray } from './backend/backend.js';
export { noGrad, tidy, scope, keep, isGradEnabled } from './autograd/engine.js';
export { tensor, zeros, ones, full, arange, eye, rand, randn, to, type CreateOptions } from './autograd/ops/creation.js';
export { manualSeed, Generator } from './autograd/ops/random.js';
export {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, neg, exp, log, sqrt, rsqrt, abs, relu, gelu, sigmoid, tanh, clamp, where, cast,
} from './autograd/ops/elementwise.js';
export { sum, mean, max, min, argmax, argmin, logsumexp } from './autograd/ops/reduce.js';
export { reshape, permute, transpose, expand, squeeze, unsqueeze, flatten, slice, split, concat, stack, indexSelect, oneHot, contiguous, zerosLike, onesLike } from './autograd/ops/shape.js';
export { matmul, linear } from './autograd/ops/linalg.js';
export { softmax, logSoftmax, layerNorm, l2Normalize, dropout } from './autograd/ops/nn.js';
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
  composedGramVolumeMatrix, composedGramContrastiveLoss, NORM_EPS, MAX_MODALITIES, VOL_CLAMP,
  type GramVolumeOptions, type ContrastiveOptions as ContrastiveSoftmaxOptions, type ContrastiveReduction, type AlignmentLossOptions,
} from './alignment/index.js';

// Fused multi-head cross-attention (src/attention, wgsl/attention.wgsl) and its module.
export { crossAttention, checkAttentionArgs, MAX_FUSED_HEAD_DIM, type CrossAttentionOptions } from './attention/crossAttention.js';
export { crossAttentionUnfused } from './attention/reference.js';
export { setAttentionTuning, type AttnTuning, type AttnVariant } from './kernels/attention.js';
export { MultiHeadCrossAttention, type MultiHeadCrossAttentionOptions } from './nn/attention.js';

/** Why WebGPU is missing here, in words a browser user can act on. */
export function webgpuUnavailableReason(): string | null {
  const g = globalThis as { navigator?: { gpu?: unknown }; isSecureContext?: boolean };
  if (g.navigator?.gpu) return null;
  if (g.isSecureContext === false) {
    return 'this page is not a secure context, and browsers expose WebGPU (navigator.gpu) only to https:// pages and http://localhost';
  }
  return 'this browser does not expose WebGPU (navigator.gpu is undefined)';
}

const BROWSER_HINT =
  'Use a browser with WebGPU enabled: Chrome or Edge 113+ (on Linux start it with --enable-unsafe-webgpu or enable ' +
  'chrome://flags/#enable-unsafe-webgpu), Safari 26+, or Firefox 141+ (Windows; elsewhere set dom.webgpu.enabled in about:config). ' +
  'Turn on hardware acceleration in the browser settings, and check chrome://gpu for a blocklisted GPU. ' +
  'Or call init({ backend: "cpu" }) to run on the (slow) CPU reference backend.';

/**
 * Acquires the page's WebGPU device (navigator.gpu): the core adapter, else a compatibility-mode
 * one; `init({ backend: 'cpu' })` selects the CPU reference backend. Safe to call again.
 * Throws NoAdapterError with a browser-specific hint when WebGPU is unavailable.
 */
export async function init(options: InitOptions = {}): Promise<DeviceInfo> {
  if (options.backend !== 'cpu') {
    const reason = webgpuUnavailableReason();
    if (reason) throw new NoAdapterError(`WebGPU is not available: ${reason}. ${BROWSER_HINT}`);
  }
  try {
    return await initAny(options);
  } catch (e) {
    if (e instanceof NoAdapterError) {
      throw new NoAdapterError(
        `WebGPU is not available: navigator.gpu.requestAdapter() found no adapter (the GPU may be blocklisted, or hardware acceleration is off). ${BROWSER_HINT}`,
        { cause: e },
      );
    }
    throw e;
  }
}
