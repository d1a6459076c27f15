// Bad input: ShapeErrors that name the argument and the shapes.
import { beforeAll, describe, expect, it } from 'vitest';
import { contrastiveSoftmaxLoss, cosineContrastiveLoss, gramContrastiveLoss, gramVolumeMatrix, oneStageGramLoss } from '../../src/alignment/index.js';
import { ShapeError, tensor, zeros, type Tensor } from '../../src/index.js';

describe('bad input', () => {
  let a: Tensor;
  let o: Tensor;
  beforeAll(() => {
    a = zeros([4, 8]);
    o = zeros([4, 2, 8]);
  });
  it('B mismatch names both shapes', () => {
    expect(() => gramVolumeMatrix(a, zeros([5, 2, 8]))).toThrow(ShapeError);
    expect(() => gramVolumeMatrix(a, zeros([5, 2, 8]))).toThrow(/batch size B differs: anchor \[4, 8\] has 4, others \[5, 2, 8\] has 5/);
  });
  it('D mismatch names both shapes', () => {
    expect(() => gramContrastiveLoss(a, zeros([4, 2, 9]))).toThrow(/feature size D differs: anchor \[4, 8\] has 8, others \[4, 2, 9\] has 9/);
  });
  it('K outside 2..8', () => {
    expect(() => gramVolumeMatrix(a, zeros([4, 8, 8]))).toThrow(/K = 9 modalities .*\[4, 8, 8\].* outside 2\.\.8/);
    expect(() => gramVolumeMatrix(a, zeros([4, 0, 8]))).toThrow(/K = 1 modalities/);
    expect(() => oneStageGramLoss([a])).toThrow(ShapeError);
    expect(() => oneStageGramLoss(Array.from({ length: 9 }, () => a))).toThrow(/9 modalities given/);
  });
  it('ranks', () => {
    expect(() => gramVolumeMatrix(zeros([4, 2, 8]), o)).toThrow(/anchor must be \[B, D\], got \[4, 2, 8\]/);
    expect(() => gramVolumeMatrix(a, zeros([4, 1, 2, 8]))).toThrow(/others must be \[B, K−1, D\]/);
    expect(() => contrastiveSoftmaxLoss(zeros([3, 4]))).toThrow(/square \[B, B\].*\[3, 4\]/);
    expect(() => oneStageGramLoss([a, zeros([4, 9])])).toThrow(/modalities\[1\] \[4, 9\] differs from modalities\[0\] \[4, 8\]/);
  });
  it('int tensors', () => {
    const ai = tensor(new Int32Array(32), [4, 8]);
    const oi = tensor(new Int32Array(64), [4, 2, 8]);
    expect(() => gramVolumeMatrix(ai, o)).toThrow(/anchor must be a float tensor, got int32 \[4, 8\]/);
    expect(() => gramContrastiveLoss(a, oi)).toThrow(/others must be a float tensor, got int32 \[4, 2, 8\]/);
    expect(() => cosineContrastiveLoss(a, oi)).toThrow(ShapeError);
    expect(() => contrastiveSoftmaxLoss(tensor(new Int32Array(4), [2, 2]))).toThrow(/int32/);
  });
  it('options', () => {
    expect(() => gramContrastiveLoss(a, o, { tau: 0 })).toThrow(/tau must be a positive/);
    expect(() => gramContrastiveLoss(a, o, { labelSmoothing: 2 })).toThrow(/labelSmoothing/);
    expect(() => gramContrastiveLoss(a, o, { reduction: 'none' as never })).toThrow(/reduction/);
    expect(() => gramContrastiveLoss(a, o, { learnableTau: zeros([2]) })).toThrow(/learnableTau \(log τ\) must be a one-element float tensor/);
    expect(() => gramVolumeMatrix(a, o, { eps: -1 })).toThrow(/eps/);
  });
  it('mixed backends', () => {
    expect(() => gramVolumeMatrix(zeros([4, 8], { backend: 'cpu' }), o)).toThrow(/anchor is on cpu and others on webgpu/);
  });
});
