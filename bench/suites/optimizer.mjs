// Optimizer step over DualAlign's parameters (the paper-size model's ~14 M parameters in its own
// tensor shapes): one fused SGD-momentum / Adam / AdamW step from fixed gradients. GB/s of the
// minimum traffic per parameter: SGD-momentum reads p, g, buf and writes p, buf (5 × 4 bytes);
// Adam(W) reads p, g, m, v and writes p, m, v (7 × 4 bytes). Ours also copies each tensor into and
// out of its flat buffers and runs the non-finite / norm guard (src/optim/optimizer.ts).
// Peers: tfjs's `train.momentum` and `train.adam` (no AdamW in tfjs); outputs compared after one step.
import { randomData } from '../harness.mjs';
import { concatFloat32 } from '../lib/impl.mjs';

const LR = 1e-3;
const ADAM = { betas: [0.9, 0.999], eps: 1e-8 };

let shapesCache = null;
/** DualAlign's parameter shapes (paper sizes), from the model itself. */
function paramShapes(L, quick) {
  if (quick) return [[256, 1024], [1024], [1024, 512], [512]];
  if (!shapesCache) {
    const model = new L.DualAlign({ numGrades: 5 });
    shapesCache = model.parameters().map((p) => [...p.shape]);
    model.dispose();
  }
  return shapesCache;
}

const sizeOf = (s) => s.reduce((a, b) => a * b, 1);

function optimCase({ kind, quick }) {
  const perParam = kind === 'sgd' ? 5 : 7;
  let count = 0;
  const data = (L) => {
    const shapes = paramShapes(L, quick);
    count = shapes.reduce((n, s) => n + sizeOf(s), 0);
    return shapes.map((shape, i) => ({ shape, p: randomData(sizeOf(shape), 100 + i), g: randomData(sizeOf(shape), 500 + i).map((v) => v * 0.01) }));
  };
  const name = { sgd: 'SGD momentum 0.9', adam: 'Adam', adamw: 'AdamW (weight decay 0.01)' }[kind];
  let tensors = null; // the host data, shared by ours and the peers (made once the model's shapes are known)
  const c = {
    name: `${name}, ${quick ? 'small' : 'DualAlign'} parameters`,
    quick: kind === 'adam',
    get bytes() {
      return perParam * 4 * count;
    },
    tolerance: 1e-4,
    ours: (L) => {
      tensors = data(L);
      c.shape = { parameters: count, tensors: tensors.length };
      const ps = tensors.map(({ p, shape }) => L.tensor(p, shape, { requiresGrad: true }));
      ps.forEach((t, i) => (t.grad = L.tensor(tensors[i].g, tensors[i].shape)));
      const opt =
        kind === 'sgd'
          ? new L.SGD(ps, { lr: LR, momentum: 0.9 })
          : kind === 'adam'
            ? new L.Adam(ps, { lr: LR, ...ADAM })
            : new L.AdamW(ps, { lr: LR, ...ADAM, weightDecay: 0.01 });
      return {
        plan: `${tensors.length} tensors, ${(count / 1e6).toFixed(2)} M parameters`,
        run: () => opt.step(),
        output: async () => concatFloat32(await Promise.all(ps.map((p) => p.data()))),
        dispose: () => {
          opt.dispose();
          for (const p of ps) p.dispose();
        },
      };
    },
    peers: kind === 'adamw' ? {} : Object.fromEntries(['tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu'].map((id) => [id, (tf) => tfjsOptim(tf, kind, tensors)])),
  };
  return c;
}

function tfjsOptim(tf, kind, tensors) {
  const vars = tensors.map(({ p, shape }, i) => tf.variable(tf.tensor(p, shape), true, `bench_p${i}_${Math.random().toString(36).slice(2)}`));
  const grads = tensors.map(({ g, shape }) => tf.tensor(g, shape));
  const named = vars.map((v, i) => ({ name: v.name, tensor: grads[i] }));
  const opt = kind === 'sgd' ? tf.train.momentum(LR, 0.9) : tf.train.adam(LR, ADAM.betas[0], ADAM.betas[1], ADAM.eps);
  return {
    run: () => opt.applyGradients(named),
    last: () => vars[vars.length - 1],
    output: async () => concatFloat32(await Promise.all(vars.map((v) => v.data()))),
    dispose: () => {
      opt.dispose();
      for (const t of [...vars, ...grads]) t.dispose();
    },
  };
}

export default {
  name: 'optimizer',
  title: 'Optimizer step (SGD momentum, Adam, AdamW) over DualAlign’s parameters',
  unit: 'GB/s',
  description:
    'One step over every parameter tensor of the paper-size DualAlign (gradients fixed). GB/s of the minimum traffic: 5 × 4 bytes per parameter for SGD momentum, 7 × 4 for Adam(W). ' +
    'Ours: one fused update kernel over flat buffers plus the per-tensor copies and the guard pass. tfjs: `train.momentum` / `train.adam` (`applyGradients`); tfjs has no AdamW.',
  cases: ({ quick }) => ['sgd', 'adam', 'adamw'].map((kind) => optimCase({ kind, quick })),
};
