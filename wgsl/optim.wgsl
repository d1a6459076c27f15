// Fused optimizer step over flat buffers: every parameter of the model lives at an offset of P,
// its gradient at the same offset of G, its state (momentum / Adam m, v) in S1 / S2.
// Segments (one per parameter tensor) are [SEG[s], SEG[s+1]); SEGINFO[2s] says whether the
// parameter takes part in this step (it has a gradient), SEGINFO[2s+1] scales its weight decay.
//
// Two entry points, dispatched back to back:
//   stats:  sum of squared gradients and count of non-finite gradients, one partial per
//           workgroup (for clipping and the non-finite guard); also folds the previous step's
//           "applied" flag into the step counter.
//   update: a fixed number of workgroups with a grid stride; each invocation sums the partials
//           (norm, non-finite count, loss check) itself, then updates its elements: SGD (momentum, dampening, Nesterov,
//           coupled weight decay), Adam (coupled L2) or AdamW (decoupled decay), with the
//           gradient scaled by the clipping coefficient. A non-finite loss or gradient (or an
//           infinite norm) skips the whole step: parameters and state stay as they were.
//
// CTRL layout (floats after the 2·N_PARTIALS partials): [count (u32 bits), applied, grad norm,
// skipped steps, loss].
//#include common

struct Params {
  n: u32,
  nseg: u32,
  kind: u32,       // 0 SGD, 1 Adam, 2 AdamW
  flags: u32,      // bit0 nesterov, bit1 clip, bit2 check loss
  lr: f32,
  momentum: f32,
  dampening: f32,
  weight_decay: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  max_norm: f32,
  n_partials: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<uniform> U: Params;
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> S1: array<f32>;
@group(0) @binding(4) var<storage, read_write> S2: array<f32>;
@group(0) @binding(5) var<storage, read> SEG: array<u32>;
@group(0) @binding(6) var<storage, read> SEGINFO: array<f32>;
@group(0) @binding(7) var<storage, read_write> STATS: array<f32>;

const WG: u32 = 256u;
var<workgroup> red_a: array<f32, 256>;
var<workgroup> red_b: array<f32, 256>;

fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// The segment holding element i (SEG is sorted; SEG[nseg] = n).
fn segment_of(i: u32) -> u32 {
  var lo = 0u;
  var hi = U.nseg;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (SEG[mid] <= i) { lo = mid; } else { hi = mid; }
  }
  return lo;
}

fn ctrl() -> u32 {
  return 2u * U.n_partials;
}

@compute @workgroup_size(256)
fn stats(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let t = lid.x;
  var sq = 0.0;
  var bad = 0.0;
  var i = wid.x * WG + t;
  let stride = U.n_partials * WG;
  var s = 0u;
  if (i < U.n) { s = segment_of(i); }
  while (i < U.n) {
    // i only grows: walk the segment forward instead of searching again
    while (SEG[s + 1u] <= i) { s += 1u; }
    if (SEGINFO[2u * s] > 0.5) {
      let g = G[i];
      if (finite(g)) { sq += g * g; } else { bad += 1.0; }
    }
    i += stride;
  }
  red_a[t] = sq;
  red_b[t] = bad;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (t < h) {
      red_a[t] += red_a[t + h];
      red_b[t] += red_b[t + h];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    STATS[2u * wid.x] = red_a[0];
    STATS[2u * wid.x + 1u] = red_b[0];
    if (wid.x == 0u) {
      let c = ctrl();
      let applied = STATS[c + 1u];
      if (applied > 0.5) {
        STATS[c] = bitcast<f32>(bitcast<u32>(STATS[c]) + 1u);
      }
      STATS[c + 1u] = 0.0;
    }
  }
}

// A fixed number of workgroups walks the elements with a grid stride; every invocation sums the
// few partials itself (no workgroup barriers: they are costly on CPU adapters).
@compute @workgroup_size(256)
fn update(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = lid.x;
  var total_sq = 0.0;
  var bad = 0.0;
  for (var k = 0u; k < U.n_partials; k++) {
    total_sq += STATS[2u * k];
    bad += STATS[2u * k + 1u];
  }
  let c = ctrl();
  let norm = sqrt(total_sq);
  var skip = bad > 0.0 || !finite(total_sq);
  if ((U.flags & 4u) != 0u && !finite(STATS[c + 4u])) { skip = true; }
  if (wid.x == 0u && t == 0u) {
    STATS[c + 2u] = norm;
    if (skip) {
      STATS[c + 1u] = 0.0;
      STATS[c + 3u] = STATS[c + 3u] + 1.0;
    } else {
      STATS[c + 1u] = 1.0;
    }
  }
  if (skip) { return; }
  var coef = 1.0;
  if ((U.flags & 2u) != 0u) { coef = min(1.0, U.max_norm / (norm + 1e-6)); }
  let step = f32(bitcast<u32>(STATS[c]) + 1u);
  let bc1 = 1.0 - pow(U.beta1, step);
  let bc2 = 1.0 - pow(U.beta2, step);
  let stride = nwg.x * WG;
  var i = wid.x * WG + t;
  var s = 0u;
  if (i < U.n) { s = segment_of(i); }
  while (i < U.n) {
    while (SEG[s + 1u] <= i) { s += 1u; }
    if (SEGINFO[2u * s] > 0.5) {
      update_one(i, s, coef, step, bc1, bc2);
    }
    i += stride;
  }
}

fn update_one(i: u32, s: u32, coef: f32, step: f32, bc1: f32, bc2: f32) {
  let wd = U.weight_decay * SEGINFO[2u * s + 1u];
  var g = G[i] * coef;
  var p = P[i];
  if (U.kind == 0u) {
    if (wd != 0.0) { g = g + wd * p; }
    if (U.momentum != 0.0) {
      var buf = g;
      if (step > 1.0) { buf = U.momentum * S1[i] + (1.0 - U.dampening) * g; }
      S1[i] = buf;
      if ((U.flags & 1u) != 0u) { g = g + U.momentum * buf; } else { g = buf; }
    }
    p = p - U.lr * g;
  } else {
    if (U.kind == 2u) {
      p = p * (1.0 - U.lr * wd);
    } else if (wd != 0.0) {
      g = g + wd * p;
    }
    let m = U.beta1 * S1[i] + (1.0 - U.beta1) * g;
    let v = U.beta2 * S2[i] + (1.0 - U.beta2) * g * g;
    S1[i] = m;
    S2[i] = v;
    let denom = sqrt(v) / sqrt(bc2) + U.eps;
    p = p - (U.lr / bc1) * (m / denom);
  }
  P[i] = p;
}
