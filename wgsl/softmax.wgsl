// Row-wise softmax / log-softmax over the last axis of a contiguous [rows, n] tensor, and its
// backward. Each row owns L invocations, WG / L rows per workgroup (ROW_REDUCE reduces within
// the L; short rows share a workgroup). The forward reads the row twice: one pass keeps a running
// max and a sum of exp rescaled to it (online softmax), the second writes. Rows whose length and
// offsets are multiples of 4 are read as vec4 (VT = vec4<f32>), else as f32: on lavapipe, which
// loads lane by lane, vec4 loads move 4x the data per load. LOG selects log-softmax.
{{ENABLE}}

struct Params {
  rows: u32,
  n: u32,     // row length in VT units
  x_off: u32, // in VT units
  g_off: u32,
}

alias VT = {{VT}};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<VT>;
// forward binds (X, Y); backward binds (X = y, G, DX).
@group(0) @binding(2) var<storage, read_write> Y: array<VT>;
@group(0) @binding(2) var<storage, read> G: array<VT>;
@group(0) @binding(3) var<storage, read_write> DX: array<VT>;

const WG: u32 = {{WG}}u;
const L: u32 = {{L}}u;
const LOG: bool = {{LOG}};
const LOWEST: f32 = -0x1.fffffep+127f;

{{ROW_REDUCE}}

// Horizontal max and sum of one VT.
fn hmax(v: VT) -> f32 { return {{HMAX}}; }
fn hsum(v: VT) -> f32 { return {{HSUM}}; }

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32{{SG_PARAM}}) {
  let slot = {{SLOT}};
  let row = (wid.x + wid.y * nwg.x) * (WG / L) + slot / L;
  let lane = slot % L;
  let live = row < P.rows; // the reductions below run in every invocation (uniform control flow)
  let base = P.x_off + row * P.n;
  var mx = LOWEST;
  var s = 0.0;
  if (live) {
    for (var j = lane; j < P.n; j += L) {
      let v = X[base + j];
      let m = max(mx, hmax(v));
      s = s * exp(mx - m) + hsum(exp(v - VT(m)));
      mx = m;
    }
  }
  let row_mx = row_max(slot, mx);
  let total = row_sum2(slot, vec2<f32>(s * exp(mx - row_mx), 0.0)).x;
  let lse = VT(row_mx + log(total));
  let out = row * P.n;
  if (live) {
    for (var j = lane; j < P.n; j += L) {
      let z = X[base + j] - lse;
      if (LOG) { Y[out + j] = z; } else { Y[out + j] = exp(z); }
    }
  }
}

// Backward: X holds the forward output y, G the upstream gradient.
//   softmax:     dx = y * (g - sum(g * y))
//   log-softmax: dx = g - exp(y) * sum(g)
@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32{{SG_PARAM}}) {
  let slot = {{SLOT}};
  let row = (wid.x + wid.y * nwg.x) * (WG / L) + slot / L;
  let lane = slot % L;
  let live = row < P.rows;
  let yb = P.x_off + row * P.n;
  let gb = P.g_off + row * P.n;
  var s = 0.0;
  if (live) {
    for (var j = lane; j < P.n; j += L) {
      if (LOG) { s += hsum(G[gb + j]); } else { s += hsum(G[gb + j] * X[yb + j]); }
    }
  }
  let t = VT(row_sum2(slot, vec2<f32>(s, 0.0)).x);
  let out = row * P.n;
  if (live) {
    for (var j = lane; j < P.n; j += L) {
      let y = X[yb + j];
      let g = G[gb + j];
      if (LOG) { DX[out + j] = g - exp(y) * t; } else { DX[out + j] = y * (g - t); }
    }
  }
}
