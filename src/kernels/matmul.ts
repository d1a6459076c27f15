/** GPU matmul (wgsl/matmul.wgsl): batched, strided operands, fused bias + activation epilogue. */
import template from '../../wgsl/matmul.wgsl';
import { type GpuRuntime, type Kernel } from '../gpu/runtime.js';
import { sizeOf, type Activation, type View } from '../backend/backend.js';
import { Params, wgsl } from './source.js';
import { GpuError, shapeStr } from '../gpu/errors.js';
import { UNARY } from '../backend/op-table.js';

const ERF_FN = `fn erf_(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.5 * ax);
  let y = 1.0 - t * exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(-y, y, x >= 0.0);
}`;

function matmulKernel(hasBias: boolean, activation: Activation): Kernel {
  return {
    name: 'matmul',
    key: `matmul:${hasBias ? 'bias' : 'nobias'}:${activation}`,
    bindings: hasBias ? ['uniform', 'read', 'read', 'read', 'rw'] : ['uniform', 'read', 'read', 'rw'],
    code: () =>
      wgsl(template, {
        BIAS_BINDING: hasBias ? '@group(0) @binding(3) var<storage, read> Bias: array<f32>;' : '',
        OUT_BINDING: hasBias ? 4 : 3,
        BIAS_ADD: hasBias ? '      v += Bias[P.bias_off + c];' : '',
        ERF: activation === 'gelu' ? ERF_FN : '',
        ACT:
          activation === 'relu'
            ? '  return max(x, 0.0);'
            : activation === 'gelu'
              ? `  let a = x;\n  return ${UNARY.gelu.op.wgsl};`
              : '  return x;',
      }),
  };
}

export function runMatmul(rt: GpuRuntime, a: View, b: View, bias: View | null, activation: Activation): GPUBuffer {
  const r = a.shape.length;
  const M = a.shape[r - 2];
  const K = a.shape[r - 1];
  const N = b.shape[r - 1];
  const batchShape = a.shape.slice(0, r - 2);
  const batch = sizeOf(batchShape);
  const out = rt.alloc(batch * M * N * 4, `matmul output ${shapeStr([...batchShape, M, N])}`);
  if (batch * M * N === 0) return out;
  const maxZ = rt.limits.maxComputeWorkgroupsPerDimension;
  if (batch > maxZ) throw new GpuError(`matmul batch of ${batch} exceeds ${maxZ}; reshape into fewer batches`);
  const p = new Params()
    .u32(M, N, K, batchShape.length)
    .u32(a.strides[r - 2], a.strides[r - 1], b.strides[r - 2], b.strides[r - 1])
    .u32(a.offset, b.offset, bias?.offset ?? 0, 0)
    .dims8(batchShape)
    .dims8(a.strides.slice(0, r - 2))
    .dims8(b.strides.slice(0, r - 2));
  const buffers = [a.storage.handle as GPUBuffer, b.storage.handle as GPUBuffer];
  if (bias) buffers.push(bias.storage.handle as GPUBuffer);
  buffers.push(out);
  rt.dispatch(matmulKernel(!!bias, activation), p.build(), buffers, [Math.ceil(N / 64), Math.ceil(M / 64), batch], `${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`);
  return out;
}
