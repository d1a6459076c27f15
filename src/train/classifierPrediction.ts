/**
 * The prediction of a plain grade classifier (the pooled MLP, the temporal CNN): softmax of its
 * logits [N, G]; the grade is the argmax, the score the expected grade Σ p·g.
 */
import { noGrad } from '../autograd/engine.js';
import { softmax } from '../autograd/ops/nn.js';
import type { Tensor } from '../autograd/tensor.js';
import type { BatchPrediction } from './types.js';

export async function classifierPrediction(logits: () => Tensor, numGrades: number, size: number, modalitiesPresent: Record<string, boolean[]>): Promise<BatchPrediction> {
  const probs = noGrad(() => softmax(logits(), -1));
  const data = await probs.data();
  probs.dispose();
  const G = numGrades;
  const grades: number[] = [];
  const scores: number[] = [];
  const probabilities: number[][] = [];
  for (let i = 0; i < size; i++) {
    const p = Array.from(data.subarray(i * G, (i + 1) * G));
    let arg = 0;
    for (let g = 1; g < G; g++) if (p[g]! > p[arg]!) arg = g;
    grades.push(arg);
    scores.push(p.reduce((s, v, g) => s + v * g, 0));
    probabilities.push(p);
  }
  return { grades, scores, probabilities, modalitiesPresent };
}
