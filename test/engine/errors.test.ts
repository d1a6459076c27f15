// Bad input: every error is thrown at the call, is a ShapeError or GpuError, and names the op
// and the problem (shapes, dtypes, disposed tensors).
import { describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import { tensor, ones, zeros, ShapeError, GpuError } from '../../src/index.js';

const int = (...v: number[]) => tensor(new Int32Array(v));

describe('bad input', () => {
  it('shape mismatches name the op and both shapes', async () => {
    expect(() => ones([2, 3]).add(ones([4]))).toThrow(ShapeError);
    expect(() => ones([2, 3]).add(ones([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
    expect(() => ones([2, 3]).matmul(ones([4, 2]))).toThrow(/matmul: inner dimensions differ: \[2, 3\] @ \[4, 2\]/);
    expect(() => ones([2, 2, 3]).matmul(ones([3, 3, 1]))).toThrow(/matmul \(batch dims\)/);
    expect(() => ones([2, 3]).reshape([4, 2])).toThrow(/reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    expect(() => ones([2, 3]).reshape([-1, -1])).toThrow(/only one -1/);
    expect(() => ones([2, 3]).permute([0, 0])).toThrow(/permute/);
    expect(() => ones([2, 3]).sum(2)).toThrow(/sum: axis 2 is out of range for rank 2/);
    expect(() => ones([2, 3]).sum([1, -1])).toThrow(/repeated axis/);
    expect(() => ones([2, 3]).expand([4, 3])).toThrow(/expand: cannot expand \[2, 3\] to \[4, 3\]/);
    expect(() => ones([2, 3]).expand([-1, 2, 3])).toThrow(/expand/);
    expect(() => T.concat([ones([2, 3]), ones([2, 4])], 0)).toThrow(/concat along axis 0/);
    expect(() => T.concat([])).toThrow(/no tensors/);
    expect(() => T.stack([ones([2]), ones([3])])).toThrow(/stack/);
    expect(() => ones([5]).split(2)).toThrow(/split: axis 0 of \[5\] does not divide into 2/);
    expect(() => ones([5]).split([2, 2])).toThrow(/do not add up to 5/);
    expect(() => ones([2, 3]).squeeze(0)).toThrow(/squeeze: axis 0 of \[2, 3\] has size 2/);
    expect(() => T.mseLoss(ones([2, 3]), ones([3, 2]))).toThrow(/mseLoss: pred \[2, 3\].*\[3, 2\]/);
    expect(() => T.crossEntropy(ones([4, 3]), int(0, 1))).toThrow(/crossEntropy: class indices must be int32 \[4\]/);
    expect(() => T.crossEntropy(ones([4, 3]), ones([4, 2]))).toThrow(/target probabilities must be \[4, 3\]/);
    expect(() => T.layerNorm(ones([2, 3]), ones([4]), ones([4]))).toThrow(/layerNorm: weight \[4\] float32 must be \[3\]/);
    expect(() => T.linear(ones([2, 3]), ones([4, 5]))).toThrow(/linear: input \[2, 3\]/);
    await expect(ones([2, 3]).item()).rejects.toThrow(/one-element/);
    expect(() => ones([2]).backward()).toThrow(/does not require grad/);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => T.clamp(ones([2]), 1, 0)).toThrow(/clamp: min 1 > max 0/);
    expect(() => T.dropout(ones([2]), 1)).toThrow(/dropout: p must be in \[0, 1\)/);
  });

  it('int32 tensors where floats are needed name the op and the fix', () => {
    const i = int(1, 2, 3);
    for (const [name, f] of [
      ['exp', () => i.exp()],
      ['log', () => i.log()],
      ['sigmoid', () => i.sigmoid()],
      ['div', () => i.div(2)],
      ['div', () => T.div(2, i)],
      ['pow', () => i.pow(2)],
      ['mean', () => i.mean()],
      ['logsumexp', () => i.logsumexp()],
      ['softmax', () => i.softmax()],
      ['layerNorm', () => T.layerNorm(i)],
      ['matmul', () => i.reshape([1, 3]).matmul(i.reshape([3, 1]))],
      ['dropout', () => T.dropout(i, 0.5)],
    ] as const) {
      expect(f, name).toThrow(ShapeError);
      expect(f, name).toThrow(new RegExp(`${name} needs float tensors, got int32 \\[[\\d, ]+\\].*toFloat`));
    }
    expect(() => ones([3]).indexSelect(0, ones([2]))).toThrow(/indexSelect: index must be int32/);
    expect(() => T.oneHot(ones([2]), 3)).toThrow(/oneHot: index must be int32/);
  });

  it('disposed tensors: every use says so', async () => {
    const x = ones([2, 2]);
    x.dispose();
    x.dispose(); // twice is fine
    expect(x.isDisposed).toBe(true);
    expect(() => x.add(1)).toThrow(GpuError);
    expect(() => x.add(1)).toThrow(/disposed tensor \[2, 2\] float32/);
    expect(() => ones([2, 2]).mul(x)).toThrow(/disposed/);
    expect(() => x.reshape([4])).toThrow(/disposed/);
    expect(() => x.transpose()).toThrow(/disposed/);
    expect(() => x.sum()).toThrow(/disposed/);
    expect(() => x.matmul(ones([2, 2]))).toThrow(/disposed/);
    expect(() => x.softmax()).toThrow(/disposed/);
    expect(() => T.concat([x, ones([2, 2])])).toThrow(/disposed/);
    await expect(x.data()).rejects.toThrow(/cannot read a disposed tensor/);
  });

  it('mixing backends and float64 on the GPU', () => {
    const c = ones([2], { backend: 'cpu' });
    expect(() => ones([2]).add(c)).toThrow(/different backends \(webgpu and cpu\)/);
    expect(() => tensor([1, 2], undefined, { dtype: 'float64' })).toThrow(/float64 is only available on the CPU backend/);
    expect(() => ones([2]).cast('float64')).toThrow(/float64/);
    expect(() => zeros([2], { dtype: 'float64' })).toThrow(/float64/);
  });

  it('crossEntropy with a class index out of range throws at the next readback (PyTorch throws too)', async () => {
    for (const bad of [3, -1]) {
      const loss = T.crossEntropy(ones([4, 3]), int(0, 2, bad, 1));
      await expect(loss.data()).rejects.toThrow(GpuError);
      loss.dispose();
    }
    const loss = T.crossEntropy(ones([4, 3]), int(0, 2, 7, 1));
    await expect(T.sync()).rejects.toThrow(/crossEntropy: a class index in target \[4\] int32 is outside \[0, 3\)/);
    loss.dispose();
    // The assertion is spent: valid labels afterwards read back normally, and the flag is clear.
    const ok = T.crossEntropy(ones([4, 3]), int(0, 2, 2, 1));
    expect((await ok.data())[0]).toBeCloseTo(Math.log(3), 5);
    ok.dispose();
    await T.sync();
  });

  it('crossEntropy on the CPU backend throws at the call, naming the index', () => {
    const logits = tensor(new Float32Array(6), [2, 3], { backend: 'cpu' });
    const target = tensor(new Int32Array([1, 3]), [2], { backend: 'cpu' });
    expect(() => T.crossEntropy(logits, target)).toThrow(/outside \[0, 3\) \(index 3 at position 1\)/);
  });
});
