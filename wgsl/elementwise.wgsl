// Elementwise map over up to four broadcast inputs: Y[i] = EXPR(a, b, c, d; p0, p1).
// Specialized per op (EXPR, from src/backend/op-table.ts), dtypes and input layouts (LOADS):
// a contiguous input is read at base + i, a broadcast scalar at base, any other view through
// its strides. One invocation per output element, or (the vec4 variant, when every input is
// contiguous or broadcast in runs of 4) per 4 consecutive elements with vec4 loads and stores:
// on lavapipe, which emulates loads lane by lane, one vec4 load moves 4x the data of an f32 load.
//#include common

struct Params {
  n: u32,
  rank: u32,
  p0: f32,
  p1: f32,
  shape: array<vec4<u32>, 2>,
  strides: array<array<vec4<u32>, 2>, 4>,
  offsets: vec4<u32>,
}

@group(0) @binding(0) var<uniform> P: Params;
{{BINDINGS}}

const PI: f32 = 3.14159265358979;

// erf, Abramowitz & Stegun 7.1.26 refined (max abs error ~1.2e-7, below f32 resolution near 1).
fn erf_(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.5 * ax);
  let y = 1.0 - t * exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(-y, y, x >= 0.0);
}
// tanh that stays finite: some drivers compute tanh through exp and overflow past |x| ~ 45.
fn tanh_(x: f32) -> f32 {
  return tanh(clamp(x, -15.0, 15.0));
}
fn sigmoid_(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}
fn gelu_tanh_d(x: f32) -> f32 {
  let k = 0.7978845608028654;
  let t = tanh_(k * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 0.134145 * x * x);
}
// pow with PyTorch's rules (WGSL's pow is undefined for x < 0 and gives NaN for pow(0, 0)):
// x^0 = 1; a negative base with an integer exponent keeps the sign rule; other negative bases NaN.
fn pow_t(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (x >= 0.0) { return pow(x, e); }
  if (e != floor(e)) { var nan_bits = 0x7fc00000u; return bitcast<f32>(nan_bits); } // a var: not const-evaluated
  let m = pow(-x, e);
  return select(m, -m, fract(e * 0.5) != 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_id(gid, nwg, 256u);
  if (t >= P.n) { return; } // P.n counts invocations: elements, or groups of 4 in the vec4 variant
  let p0 = P.p0;
  let p1 = P.p1;
{{BODY}}
}
