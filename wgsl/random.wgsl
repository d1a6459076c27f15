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

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let lolo = a_lo * b_lo;
  let lohi = a_lo * b_hi;
  let hilo = a_hi * b_lo;
  let hihi = a_hi * b_hi;
  let cross = (lolo >> 16u) + (lohi & 0xffffu) + (hilo & 0xffffu);
  let hi = hihi + (lohi >> 16u) + (hilo >> 16u) + (cross >> 16u);
  return vec2<u32>(hi, a * b);
}

fn philox(ctr_in: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
  var c = ctr_in;
  var k = key_in;
  for (var r = 0u; r < 10u; r++) {
    let p0 = mulhilo(0xd2511f53u, c.x);
    let p1 = mulhilo(0xcd9e8d57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
  }
  return c;
}

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
