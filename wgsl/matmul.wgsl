// Batched matmul C[b] = act(A[b] @ B[b] + bias), tiled in workgroup memory with register blocking.
// A workgroup of 16×16 invocations computes a 64×64 tile of C; each invocation a 4×4 block held in
// registers. K is walked in steps of 16: the A and B tiles are staged in workgroup memory (A stored
// k-major so a thread's 4 rows are contiguous). Operands are read through their strides, so a
// transposed operand (A^T, B^T) costs no copy; VEC_A / VEC_B select vec4 loads when the operand's
// inner dimension is contiguous and divisible by 4.
//#include common

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch_rank: u32,
  sa_m: u32,
  sa_k: u32,
  sb_k: u32,
  sb_n: u32,
  a_off: u32,
  b_off: u32,
  bias_off: u32,
  _pad: u32,
  batch_shape: array<vec4<u32>, 2>,
  a_batch_strides: array<vec4<u32>, 2>,
  b_batch_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
{{BIAS_BINDING}}
@group(0) @binding({{OUT_BINDING}}) var<storage, read_write> C: array<f32>;

const TM: u32 = 4u;
const TN: u32 = 4u;
const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

{{ERF}}

fn activate(x: f32) -> f32 {
{{ACT}}
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let batch = wid.z;
  let a_base = strided_offset(batch, P.batch_rank, P.batch_shape, P.a_batch_strides, P.a_off);
  let b_base = strided_offset(batch, P.batch_rank, P.batch_shape, P.b_batch_strides, P.b_off);
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  let tid = lid.y * 16u + lid.x;

  var acc: array<array<f32, 4>, 4>;
  for (var i = 0u; i < TM; i++) { for (var j = 0u; j < TN; j++) { acc[i][j] = 0.0; } }

  for (var k0 = 0u; k0 < P.K; k0 += BK) {
    // Stage A[row0.., k0..] as As[k][m]: 1024 values, 4 per invocation.
    for (var l = 0u; l < 4u; l++) {
      let e = tid * 4u + l;
      let m = e / BK;
      let k = e % BK;
      let gm = row0 + m;
      let gk = k0 + k;
      var v = 0.0;
      if (gm < P.M && gk < P.K) { v = A[a_base + gm * P.sa_m + gk * P.sa_k]; }
      As[k * BM + m] = v;
    }
    // Stage B[k0.., col0..] as Bs[k][n].
    for (var l = 0u; l < 4u; l++) {
      let e = tid * 4u + l;
      let k = e / BN;
      let n = e % BN;
      let gk = k0 + k;
      let gn = col0 + n;
      var v = 0.0;
      if (gk < P.K && gn < P.N) { v = B[b_base + gk * P.sb_k + gn * P.sb_n]; }
      Bs[k * BN + n] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < TM; i++) { a[i] = As[k * BM + lid.y * TM + i]; }
      for (var j = 0u; j < TN; j++) { b[j] = Bs[k * BN + lid.x * TN + j]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }

  let c_base = batch * P.M * P.N;
  for (var i = 0u; i < TM; i++) {
    let r = row0 + lid.y * TM + i;
    if (r >= P.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let c = col0 + lid.x * TN + j;
      if (c >= P.N) { continue; }
      var v = acc[i][j];
{{BIAS_ADD}}
      C[c_base + r * P.N + c] = activate(v);
    }
  }
}
