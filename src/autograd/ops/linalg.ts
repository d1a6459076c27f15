/** matmul (batched, broadcasting, transposed operands as views) and the fused linear layer op. */
import { isContiguous, type Activation } from '../../backend/backend.js';
import { UNARY } from '../../backend/op-table.js';
import { ShapeError, shapeStr } from '../../gpu/errors.js';
import { isGradEnabled, record } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { backendOf, broadcastShapes, broadcastView, requireFloat, wrap } from './util.js';
import { mapRaw } from './elementwise.js';
import * as E from './elementwise.js';
import { sum, sumTo } from './reduce.js';
import { contiguous, reshape, squeeze, transpose, unsqueeze } from './shape.js';

/** a @ b with PyTorch's rules: 1-D operands are promoted, batch dimensions broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloat('matmul', a, b);
  backendOf('matmul', a, b);
  if (a.rank === 0 || b.rank === 0) throw new ShapeError(`matmul: operands must have at least 1 dim, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  if (a.rank >= 2 && b.rank >= 2) return matmulCore(a, b, null, 'none');
  // A vector on the left is a row, on the right a column; the added dims are removed again.
  const a2 = a.rank === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.rank === 1 ? unsqueeze(b, 1) : b;
  let y = matmulCore(a2, b2, null, 'none');
  const drop = (t: Tensor, axis: number) => {
    const r = squeeze(t, axis);
    t.dispose();
    return r;
  };
  if (b.rank === 1) y = drop(y, -1);
  if (a.rank === 1) y = drop(y, b.rank === 1 ? -1 : -2);
  if (a2 !== a) a2.dispose();
  if (b2 !== b) b2.dispose();
  return y;
}

/** The matmul kernel with its bias + activation epilogue, recording nothing. */
function matmulForward(a: Tensor, b: Tensor, bias: Tensor | null, activation: Activation): Tensor {
  const M = a.shape[a.rank - 2];
  const K = a.shape[a.rank - 1];
  const K2 = b.shape[b.rank - 2];
  const N = b.shape[b.rank - 1];
  if (K !== K2) throw new ShapeError(`matmul: inner dimensions differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)} (${K} vs ${K2})`);
  const batch = broadcastShapes('matmul (batch dims)', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const av = broadcastView(a, [...batch, M, K]);
  const bv = broadcastView(b, [...batch, K, N]);
  // The kernel reads the bias as a dense row; a strided bias (rare) is packed first.
  const biasView = bias && !isContiguous(bias) ? contiguous(bias) : bias;
  const y = wrap(a.backend.matmul(av, bv, biasView, activation), [...batch, M, N], a.dtype);
  if (biasView !== bias) biasView?.dispose();
  return y;
}

/** The gradient before a fused activation (relu; GELU is never fused when a gradient is needed). */
function preActivationGrad(activation: Activation, g: Tensor, y: Tensor | undefined): Tensor {
  return activation === 'relu' ? mapRaw(UNARY.relu.grad as never, [y!, y!, g], [], g.dtype, g.shape) : g;
}

function matmulCore(a: Tensor, b: Tensor, bias: Tensor | null, activation: Activation): Tensor {
  const y = matmulForward(a, b, bias, activation);
  const N = y.shape[y.rank - 1];
  return record(
    'matmul',
    y,
    bias ? [a, b, bias] : [a, b],
    (g, [as, bs, ys]) => {
      const gz = preActivationGrad(activation, g, ys);
      const grads: (Tensor | null)[] = [
        a.requiresGrad ? sumTo(matmul(gz, transpose(bs)), a.shape) : null,
        b.requiresGrad ? sumTo(matmul(transpose(as), gz), b.shape) : null,
      ];
      if (bias) grads.push(bias.requiresGrad ? sum(reshape(gz, [-1, N]), 0) : null);
      return grads;
    },
    activation === 'relu' ? [a, b, y] : [a, b],
  );
}

/**
 * y = activation(x @ weightᵀ + bias), weight [out, in] as in PyTorch's nn.Linear. One matmul
 * kernel with the bias and activation in its epilogue; weightᵀ is a strided view, not a copy.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, activation: Activation = 'none'): Tensor {
  requireFloat('linear', x, weight);
  const inF = weight.shape[1];
  if (weight.rank !== 2 || x.shape[x.rank - 1] !== inF) {
    throw new ShapeError(`linear: input ${x.describe()} does not match weight ${weight.describe()} (expects last dim ${inF})`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) throw new ShapeError(`linear: bias ${bias.describe()} must be [${weight.shape[0]}]`);
  const outF = weight.shape[0];
  const x2 = reshape(x, [-1, inF]);
  const wt = transpose(weight);
  // GELU's backward needs the pre-activation, so with grad on it runs as its own kernel.
  const fuseAct = activation === 'gelu' && isGradEnabled() && (x.requiresGrad || weight.requiresGrad || !!bias?.requiresGrad) ? 'none' : activation;
  // Its own backward: dx = gz · W and dW = gzᵀ · x, both contiguous, the transpose a strided view
  // the kernel reads in place (through matmul's rule, dW would come out as (xᵀ · gz)ᵀ, a
  // transposed view that accumulating into weight.grad would have to copy).
  const pre = matmulForward(x2, wt, bias, fuseAct);
  let y2 = record(
    'linear',
    pre,
    bias ? [x2, weight, bias] : [x2, weight],
    (g, [xs, ws, ys]) => {
      const gz = preActivationGrad(fuseAct, g, ys);
      const grads: (Tensor | null)[] = [x2.requiresGrad ? matmul(gz, ws) : null, weight.requiresGrad ? matmul(transpose(gz), xs) : null];
      if (bias) grads.push(bias.requiresGrad ? sum(gz, 0) : null);
      return grads;
    },
    fuseAct === 'relu' ? [x2, weight, pre] : [x2, weight],
  );
  if (fuseAct !== activation) {
    const z = y2;
    y2 = E.gelu(z);
    z.dispose();
  }
  const y = reshape(y2, [...x.shape.slice(0, -1), outF]);
  x2.dispose();
  wt.dispose();
  y2.dispose();
  return y;
}
