import { describe, expect, it } from 'vitest';
import { manualSeed } from '../../src/index.js';
import { DualAlign, collate, disposeBatch } from '../../src/models/index.js';
import { makeSamples, smallConfig } from './helpers.js';

describe('smoke', () => {
  it('forward + loss + backward', async () => {
    manualSeed(1);
    const model = new DualAlign(smallConfig());
    const batch = collate(makeSamples(4), model.config);
    const out = model.forward(batch);
    expect(out.h.shape).toEqual([4, 8]);
    expect(out.probabilities.shape).toEqual([4, 4]);
    const l = model.loss(batch);
    console.log(await l.total.item(), await l.grade.item(), await l.vfs.item(), await l.vit.item());
    l.total.backward();
    const missing = model.namedParameters().filter(([, p]) => !p.grad).map(([n]) => n);
    console.log('no grad:', missing);
    console.log(model.summary().text);
    disposeBatch(batch);
  });
});
