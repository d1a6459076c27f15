// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11): element i uses counter
// (counter + i, hi, 0, 0) and key (seed_lo, seed_hi), exactly as src/backend/philox.ts, so the
// GPU and the CPU reference produce the same stream. KIND: 0 uniform [p0, p1), 1 normal (mean p0,
// std p1, Box–Muller), 2 bernoulli (1 with probability p0).
//#include common

struct Params {
  n: u32,
  counter_lo: u32,
  counter_hi: u32,
  key_lo: u32,
  key_hi: u32,
  p0: f32,
  p1: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> Out: array<{{T}}>;

const KIND: u32 = {{KIND}}u;

//#include philox

// 23 bits, centred: exact in f32, the same values as the CPU reference, never 0 or 1.
fn to_unit(x: u32) -> f32 {
  return (f32(x >> 9u) + 0.5) / 8388608.0;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_id(gid, nwg, 256u);
  if (i >= P.n) { return; }
  let lo = P.counter_lo + i;
  let hi = P.counter_hi + select(0u, 1u, lo < i); // carry
  let r = philox(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(P.key_lo, P.key_hi));
  let u = to_unit(r.x);
  var v: f32;
  if (KIND == 0u) {
    v = P.p0 + (P.p1 - P.p0) * u;
  } else if (KIND == 1u) {
    v = P.p0 + P.p1 * sqrt(-2.0 * log(u)) * cos(6.283185307179586 * to_unit(r.y));
  } else {
    v = select(0.0, 1.0, u < P.p0);
  }
  Out[i] = {{T}}(v);
}
