// Matmul kernels: C[b] = act(A[b] @ B[b] + bias). Four sections (src/backend/webgpu/matmul.ts picks them
// apart at the `//#section NAME` lines):
//
//  tiled   — the GPU kernel: 64×64 tiles in workgroup memory, 16×16 invocations, 4×4 register
//            blocks, BK = 16. Operands are read through their strides (a transposed operand costs no
//            copy); A_LOAD / B_LOAD select one vec4 load per 4 staged values when the operand's inner
//            dimension is contiguous and divisible by 4.
//  pack_a, pack_b, simd — the CPU-SIMD path (lavapipe / llvmpipe, where one subgroup is one SIMD
//            register of S lanes on a CPU core). There every lane-divergent memory access is
//            emulated one lane at a time (~1 ns per float) while arithmetic runs S lanes at a time,
//            so the kernel is built around the loads: both operands are first repacked (any
//            strides, batch broadcasting and zero padding resolved there) into panels that S lanes
//            read as S consecutive vec4s; then each workgroup = one subgroup computes a TM × 4S
//            block of C: lane l owns 4 columns (one vec4 of B per k) and the TM rows of A arrive one
//            vec4 (4 k values) per lane and are shared with subgroupBroadcast, so every A value is
//            loaded once per subgroup and every B value once per TM rows. No workgroup memory, no
//            barriers. The k loop body is generated (unrolled over the TM rows) by the TS side.

//#section tiled
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
  bias_stride: u32,
  has_bias: u32,   // epilogue, as uniforms rather than pipeline variants (fewer pipelines to compile)
  act: u32,        // 0 none, 1 relu, 2 gelu
  _p0: u32,
  _p1: u32,
  batch_shape: array<vec4<u32>, 2>,
  a_batch_strides: array<vec4<u32>, 2>,
  b_batch_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<{{A_TYPE}}>;
@group(0) @binding(2) var<storage, read> B: array<{{B_TYPE}}>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>; // a dummy when has_bias = 0
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

const TM: u32 = 4u;
const TN: u32 = 4u;
const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

{{EPILOGUE_FNS}}

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
    // Stage A[row0.., k0..] as As[k][m]: 1024 values, 4 consecutive k of one row per invocation.
    {
      let e = tid * 4u;
      let m = e / BK;
      let kk = e % BK;
      let gm = row0 + m;
      let gk = k0 + kk;
{{A_LOAD}}
    }
    // Stage B[k0.., col0..] as Bs[k][n]: 4 consecutive n of one row per invocation.
    {
      let e = tid * 4u;
      let kk = e / BN;
      let n = e % BN;
      let gk = k0 + kk;
      let gn = col0 + n;
{{B_LOAD}}
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
      if (P.has_bias != 0u) { v += Bias[P.bias_off + c * P.bias_stride]; }
      C[c_base + r * P.N + c] = activate(v, P.act);
    }
  }
}

//#section pack_a
// Ap[z][g][k4][l] = vec4(A[row g·S + l][4·k4 .. 4·k4 + 3]) for z < copies (one packed copy per
// batch, or a single copy of a batch-broadcast A), zero outside the matrix. With `flat`, the batch
// is folded into the rows (row r = batch r / M, row r % M of that batch). One invocation per packed
// row (x) and copy (z) walks a chunk of KC k4 steps (y): no integer division in the loop (on a CPU
// adapter a u32 division by a non-constant is a scalar loop over the lanes).
//#include common

struct Params {
  M: u32,        // rows per batch
  K: u32,
  K4: u32,
  groups: u32,   // row groups of S per packed copy
  rows: u32,     // rows per packed copy (M, or batch·M when flat)
  flat: u32,
  batch_rank: u32,
  sa_m: u32,
  sa_k: u32,
  a_off: u32,
  _p0: u32,
  _p1: u32,
  batch_shape: array<vec4<u32>, 2>,
  a_batch_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<{{SRC_TYPE}}>;
@group(0) @binding(2) var<storage, read_write> Ap: array<vec4<f32>>;

const S: u32 = {{S}}u;
const KC: u32 = {{KC}}u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  let z = gid.z;
  if (r >= P.groups * S) { return; }
  let g = r / S;
  let l = r % S;
  let k4a = gid.y * KC;
  let k4b = min(k4a + KC, P.K4);
  var out = ((z * P.groups + g) * P.K4 + k4a) * S + l;
  if (r >= P.rows) {
    for (var k4 = k4a; k4 < k4b; k4++) { Ap[out] = vec4<f32>(0.0); out += S; }
    return;
  }
  var b = z;
  var m = r;
  if (P.flat != 0u) { b = r / P.M; m = r % P.M; }
  let base = strided_offset(b, P.batch_rank, P.batch_shape, P.a_batch_strides, P.a_off) + m * P.sa_m;
  for (var k4 = k4a; k4 < k4b; k4++) {
    var v = vec4<f32>(0.0);
{{LOAD}}
    Ap[out] = v;
    out += S;
  }
}

//#section pack_b
// Bp[z][s][k][l] = vec4(B[k][4·(s·S + l) .. +3]) for k < Kp (K rounded up to 4), zero outside.
// One invocation per packed vec4 column (x) and copy (z) walks a chunk of KC rows (y).
//#include common

struct Params {
  N: u32,
  K: u32,
  Kp: u32,
  strips: u32,   // strips of 4·S columns per packed copy
  batch_rank: u32,
  sb_k: u32,
  sb_n: u32,
  b_off: u32,
  batch_shape: array<vec4<u32>, 2>,
  b_batch_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> B: array<{{SRC_TYPE}}>;
@group(0) @binding(2) var<storage, read_write> Bp: array<vec4<f32>>;

const S: u32 = {{S}}u;
const KC: u32 = {{KC}}u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c4 = gid.x;
  let z = gid.z;
  if (c4 >= P.strips * S) { return; }
  let s = c4 / S;
  let l = c4 % S;
  let n0 = c4 * 4u;
  let ka = gid.y * KC;
  let kb = min(ka + KC, P.Kp);
  var out = ((z * P.strips + s) * P.Kp + ka) * S + l;
  let base = strided_offset(z, P.batch_rank, P.batch_shape, P.b_batch_strides, P.b_off);
  for (var k = ka; k < kb; k++) {
    var v = vec4<f32>(0.0);
    if (k < P.K && n0 < P.N) {
      let row = base + k * P.sb_k;
{{LOAD}}
    }
    Bp[out] = v;
    out += S;
  }
}

//#section simd
enable subgroups;

struct Params {
  M: u32,          // rows of C per batch (batch·M when the batch is folded into the rows)
  N: u32,
  K4: u32,         // K / 4, rounded up (the packed operands are zero-padded)
  N4: u32,         // N / 4, rounded up
  a_zstride: u32,  // vec4s between batches in Ap (0: A shared by every batch)
  b_zstride: u32,  // vec4s between batches in Bp, or in B itself when B is read directly
  b_off4: u32,     // direct B: offset of B[0][0], in vec4s
  sb_k4: u32,      // direct B: row stride, in vec4s
  bias_off: u32,
  bias_stride: u32,
  has_bias: u32,
  act: u32,        // 0 none, 1 relu, 2 gelu
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Ap: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> Bq: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>; // a dummy when has_bias = 0
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

const S: u32 = {{S}}u;
const TM: u32 = {{TM}}u;

{{EPILOGUE_FNS}}

// One workgroup = one subgroup of S lanes: rows [x·TM, x·TM + TM) × columns [4·S·y, 4·S·y + 4·S).
@compute @workgroup_size({{S}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let z = wid.z;
  let row0 = wid.x * TM;
  let col4 = wid.y * S + lane; // this lane's vec4 column
{{INIT}}
  for (var k = 0u; k < P.K4; k++) {
{{BODY}}
  }
  let c4 = min(col4, P.N4 - 1u);
  let cz = z * P.M;
{{EPILOGUE}}
}
