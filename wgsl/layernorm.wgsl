// LayerNorm over the last axis of a contiguous [rows, n] tensor, forward and backward.
// Each row owns L invocations, WG / L rows per workgroup (row reductions from ROW_REDUCE:
// subgroup operations or a tree; short rows share a workgroup). Rows
// whose length is a multiple of 4 are read as vec4 (VT), else as f32. The forward saves mean and
// 1/std per row; the backward recomputes x̂ from them and writes dx plus g·x̂ (summed over rows
// by a reduction for dgamma).
//   dx = rstd * (gy - mean(gy) - x̂ * mean(gy * x̂)),  gy = g * gamma
{{ENABLE}}

struct Params {
  rows: u32,
  n: u32, // row length in VT units
  eps: f32,
  has_affine: u32,
  n_elems: f32, // row length in elements
}

alias VT = {{VT}};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<VT>;
@group(0) @binding(2) var<storage, read> Gamma: array<VT>;
@group(0) @binding(4) var<storage, read_write> Out: array<VT>;  // forward: y; backward: dx
// Forward only:
@group(0) @binding(3) var<storage, read> Beta: array<VT>;
@group(0) @binding(5) var<storage, read_write> MeanOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> RstdOut: array<f32>;
// Backward only:
@group(0) @binding(3) var<storage, read> Gup: array<VT>;
@group(0) @binding(5) var<storage, read> MeanIn: array<f32>;
@group(0) @binding(6) var<storage, read> RstdIn: array<f32>;
@group(0) @binding(7) var<storage, read_write> GXhat: array<VT>;

const WG: u32 = {{WG}}u;
const L: u32 = {{L}}u;

{{ROW_REDUCE}}

fn hsum(v: VT) -> f32 { return {{HSUM}}; }

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32{{SG_PARAM}}) {
  let slot = {{SLOT}};
  let row = (wid.x + wid.y * nwg.x) * (WG / L) + slot / L;
  let lane = slot % L;
  let live = row < P.rows; // the reductions below run in every invocation (uniform control flow)
  let base = row * P.n;
  var s = 0.0;
  if (live) {
    for (var j = lane; j < P.n; j += L) { s += hsum(X[base + j]); }
  }
  let mean = row_sum2(slot, vec2<f32>(s, 0.0)).x / P.n_elems;
  var v = 0.0;
  if (live) {
    for (var j = lane; j < P.n; j += L) { let d = X[base + j] - VT(mean); v += hsum(d * d); }
  }
  let rstd = inverseSqrt(row_sum2(slot, vec2<f32>(v, 0.0)).x / P.n_elems + P.eps);
  if (!live) { return; }
  for (var j = lane; j < P.n; j += L) {
    var y = (X[base + j] - VT(mean)) * rstd;
    if (P.has_affine != 0u) { y = y * Gamma[j] + Beta[j]; }
    Out[base + j] = y;
  }
  if (lane == 0u) {
    MeanOut[row] = mean;
    RstdOut[row] = rstd;
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32{{SG_PARAM}}) {
  let slot = {{SLOT}};
  let row = (wid.x + wid.y * nwg.x) * (WG / L) + slot / L;
  let lane = slot % L;
  let live = row < P.rows;
  let base = row * P.n;
  var mean = 0.0;
  var rstd = 0.0;
  var s = vec2<f32>(0.0);
  if (live) {
    mean = MeanIn[row];
    rstd = RstdIn[row];
    for (var j = lane; j < P.n; j += L) {
      let xh = (X[base + j] - VT(mean)) * rstd;
      var gy = Gup[base + j];
      GXhat[base + j] = gy * xh;
      if (P.has_affine != 0u) { gy = gy * Gamma[j]; }
      s += vec2<f32>(hsum(gy), hsum(gy * xh));
    }
  }
  s = row_sum2(slot, s) / P.n_elems;
  if (!live) { return; }
  for (var j = lane; j < P.n; j += L) {
    let xh = (X[base + j] - VT(mean)) * rstd;
    var gy = Gup[base + j];
    if (P.has_affine != 0u) { gy = gy * Gamma[j]; }
    Out[base + j] = rstd * (gy - VT(s.x) - xh * s.y);
  }
}
