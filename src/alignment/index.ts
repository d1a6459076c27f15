/** Gram-volume alignment: the fused ops (WebGPU kernels + CPU reference) and the alignment losses. */
export {
  gramVolumeMatrix,
  contrastiveSoftmaxLoss,
  NORM_EPS,
  DEFAULT_TAU,
  MAX_MODALITIES,
  type GramVolumeOptions,
  type ContrastiveOptions,
  type ContrastiveReduction,
} from './ops.js';
export { gramContrastiveLoss, cosineContrastiveLoss, oneStageGramLoss, safeL2Normalize, type AlignmentLossOptions } from './losses.js';
export { composedGramVolumeMatrix, composedGramContrastiveLoss, laplaceDet } from './composed.js';
export { VOL_CLAMP } from './reference.js';
