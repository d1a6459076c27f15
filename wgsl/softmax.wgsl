// Row-wise softmax / log-softmax over the last axis of a contiguous [rows, n] tensor, and its
// backward. One workgroup per row: max and sum in workgroup-memory trees, then one write pass.
// LOG selects log-softmax.

struct Params {
  rows: u32,
  n: u32,
  x_off: u32,
  g_off: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
// forward binds (X, Y); backward binds (X = y, G, DX).
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;

const WG: u32 = 64u;
const LOG: bool = {{LOG}};
var<workgroup> red: array<f32, 64>;

fn tree_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn tree_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= P.rows) { return; }
  let base = P.x_off + row * P.n;
  var mx = -0x1.fffffep+127f;
  for (var j = lid; j < P.n; j += WG) { mx = max(mx, X[base + j]); }
  mx = tree_max(lid, mx);
  var s = 0.0;
  for (var j = lid; j < P.n; j += WG) { s += exp(X[base + j] - mx); }
  s = tree_sum(lid, s);
  let lse = mx + log(s);
  let out = row * P.n;
  for (var j = lid; j < P.n; j += WG) {
    let z = X[base + j] - lse;
    if (LOG) { Y[out + j] = z; } else { Y[out + j] = exp(z); }
  }
}

// Backward: X holds the forward output y, G the upstream gradient.
//   softmax:     dx = y * (g - sum(g * y))
//   log-softmax: dx = g - exp(y) * sum(g)
@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= P.rows) { return; }
  let yb = P.x_off + row * P.n;
  let gb = P.g_off + row * P.n;
  var s = 0.0;
  for (var j = lid; j < P.n; j += WG) {
    if (LOG) { s += G[gb + j]; } else { s += G[gb + j] * X[yb + j]; }
  }
  s = tree_sum(lid, s);
  let out = row * P.n;
  for (var j = lid; j < P.n; j += WG) {
    let y = X[yb + j];
    let g = G[gb + j];
    if (LOG) { DX[out + j] = g - exp(y) * s; } else { DX[out + j] = y * (g - s); }
  }
}
