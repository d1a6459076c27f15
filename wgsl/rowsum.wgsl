// Sum (scaled: mean) over the last, contiguous axis of a float32 [rows, n] view: the row layout
// and reductions of the row kernels (ROW_REDUCE: subgroup operations or a tree, L invocations per
// row, vec4 loads when n and the offset allow). src/kernels/reduce.ts routes such sums here; every
// other reduction goes through reduce.wgsl.
{{ENABLE}}

struct Params {
  rows: u32,
  n: u32,     // row length in VT units
  x_off: u32, // in VT units
  scale: f32,
}

alias VT = {{VT}};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<VT>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

const WG: u32 = {{WG}}u;
const L: u32 = {{L}}u;

{{ROW_REDUCE}}

fn hsum(v: VT) -> f32 { return {{HSUM}}; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32{{SG_PARAM}}) {
  let slot = {{SLOT}};
  let row = (wid.x + wid.y * nwg.x) * (WG / L) + slot / L;
  let lane = slot % L;
  let live = row < P.rows; // the reduction below runs in every invocation (uniform control flow)
  let base = P.x_off + row * P.n;
  var s = 0.0;
  if (live) {
    for (var j = lane; j < P.n; j += L) { s += hsum(X[base + j]); }
  }
  let total = row_sum2(slot, vec2<f32>(s, 0.0)).x;
  if (live && lane == 0u) { Y[row] = total * P.scale; }
}
