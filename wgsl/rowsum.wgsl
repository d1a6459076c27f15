// Sum (scaled: mean) or max over the last, contiguous axis of a float32 [rows, n] view: the row
// layout and reductions of the row kernels (ROW_REDUCE: subgroup operations or a tree, L
// invocations per row, vec4 loads when n and the offset allow). src/backend/webgpu/reduce.ts routes such
// sums and maxima here; every other reduction goes through reduce.wgsl. MAX keeps reduce.wgsl's
// rules: NaN propagates (counted beside the max: max() with NaN is implementation-defined)
// and a row of -inf gives -inf (the running max starts at P.neg_inf, not -FLT_MAX).
// Rows too long for the adapter's loop limit (src/gpu/probe.ts) come split into P.segs segments
// of P.seg_len loads, one output each; src/backend/webgpu/reduce.ts then reduces the segments' outputs.
{{ENABLE}}
//#include common

struct Params {
  rows: u32,    // outputs: rows × segments
  n: u32,       // row length in VT units
  x_off: u32,   // in VT units
  scale: f32,
  neg_inf: f32,
  seg_len: u32, // segment length in VT units (n: rows are not split)
  segs: u32,    // segments per row
}

alias VT = {{VT}};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<VT>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

const WG: u32 = {{WG}}u;
const L: u32 = {{L}}u;

{{ROW_REDUCE}}

const MAX: bool = {{MAX}};

fn hsum(v: VT) -> f32 { return {{HSUM}}; }
// Max of the components that are not NaN, and how many are NaN (is_nan: see common.wgsl).
fn hmax_nan(v: VT, acc: vec2<f32>) -> vec2<f32> {
  var a = acc;
  for (var c = 0u; c < {{WIDTH}}u; c++) {
    let x = {{COMPONENT}};
    if (is_nan(x)) { a.y += 1.0; } else if (x > a.x) { a.x = x; }
  }
  return a;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32{{SG_PARAM}}) {
  let slot = {{SLOT}};
  let row = (wid.x + wid.y * nwg.x) * (WG / L) + slot / L;
  let lane = slot % L;
  let live = row < P.rows; // the reduction below runs in every invocation (uniform control flow)
  let seg = row % P.segs;
  let base = P.x_off + (row / P.segs) * P.n + seg * P.seg_len;
  let len = min(P.seg_len, P.n - min(P.n, seg * P.seg_len));
  if (MAX) {
    var a = vec2<f32>(P.neg_inf, 0.0);
    if (live) {
      for (var j = lane; j < len; j += L) { a = hmax_nan(X[base + j], a); }
    }
    let m = row_max(slot, a.x);
    let nans = row_sum2(slot, vec2<f32>(a.y, 0.0)).x;
    var nan_bits = 0x7fc00000u; // a var: a NaN constant would be rejected at shader creation
    if (live && lane == 0u) { Y[row] = select(m, bitcast<f32>(nan_bits), nans > 0.0); }
    return;
  }
  var s = 0.0;
  if (live) {
    for (var j = lane; j < len; j += L) { s += hsum(X[base + j]); }
  }
  let total = row_sum2(slot, vec2<f32>(s, 0.0)).x;
  if (live && lane == 0u) { Y[row] = total * P.scale; }
}
