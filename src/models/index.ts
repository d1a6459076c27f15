export { DualAlign, type ForwardOutput, type LossOutput, type Prediction } from './dualalign.js';
export {
  resolveConfig,
  skeletonOnlyConfig,
  modalityNames,
  PAPER_STREAMS,
  PAPER_FUSION,
  type DualAlignConfig,
  type ResolvedConfig,
  type StreamSpec,
  type FusionStep,
  type AlignmentMode,
  type FusionMode,
  type ImageSpec,
  type Stage2Spec,
} from './config.js';
export { collate, disposeBatch, type Batch, type CollateOptions } from './batch.js';
export { EtfHead, CoarseToFineHead, simplexEtf } from './heads.js';
export { CrossAttentionBlock, TemporalModulate, AttentionPool, LinearStreamEncoder, GraphStreamEncoder, segmentPool, segmentPoolMatrix } from './blocks.js';
export { gramLoss, cosineLoss, gramLossComposed, cosineLossComposed, gramVolumes, alignmentBackend } from './losses.js';
export { type ModelSummary, type SummaryRow, type SummaryOptions } from './summary.js';
