// Reductions over any set of axes: sum (scaled, for mean), max, min, argmax, argmin, logsumexp.
// The kept dims (OUT) and reduced dims (RED) each come as shape + strides of the input view, so
// no transpose is ever copied. Two entry points:
//   main_tree:   one workgroup per output, a strided loop then a tree in workgroup memory
//                (long reductions);
//   main_serial: one invocation per output (short reductions over many outputs).
// OP is a specialization constant: 0 sum, 1 max, 2 min, 3 argmax, 4 argmin, 5 logsumexp.
// Extremum accumulators start empty (index NONE) rather than at ±FLT_MAX, so -inf inputs, NaN
// and empty reductions come out as on the CPU reference.
//#include common

struct Params {
  n_out: u32,
  n_red: u32,
  out_rank: u32,
  red_rank: u32,
  scale: f32,
  base: u32,
  neg_inf: f32, // -inf, from the host: WGSL cannot write an infinity in a constant
  _pad: u32,
  out_shape: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
  red_shape: array<vec4<u32>, 2>,
  red_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<{{IN_T}}>;
@group(0) @binding(2) var<storage, read_write> Y: array<{{OUT_T}}>;

const OP: u32 = {{OP}}u;
const WG: u32 = 64u;
const NONE: u32 = 0xffffffffu;

fn load(out_base: u32, r: u32) -> f32 {
  if (P.red_rank == 1u) {
    return f32(X[out_base + r * P.red_strides[0][0]]);
  }
  return f32(X[strided_offset(r, P.red_rank, P.red_shape, P.red_strides, out_base)]);
}

fn is_max_like() -> bool {
  return OP == 1u || OP == 3u || OP == 5u;
}

// Whether candidate (v, i) replaces the accumulator (acc, acc_i): an empty candidate never does,
// an empty accumulator always does; NaN wins (it propagates); ties keep the lowest index.
fn better(v: f32, i: u32, acc: f32, acc_i: u32) -> bool {
  if (i == NONE) { return false; }
  if (acc_i == NONE) { return true; }
  if (is_nan(v)) { return !is_nan(acc) || i < acc_i; }
  if (is_nan(acc)) { return false; }
  if (v == acc) { return i < acc_i; }
  if (is_max_like()) { return v > acc; }
  return v < acc;
}

fn finish(o: u32, acc: f32, acc_i: u32, lse_sum: f32) {
  if (OP == 0u) {
    Y[o] = {{OUT_T}}(acc * P.scale);
  } else if (OP == 3u || OP == 4u) {
    Y[o] = {{OUT_T}}(select(acc_i, 0u, acc_i == NONE));
  } else if (OP == 5u) {
    // ±inf and NaN maxima are their own logsumexp; an empty reduction is -inf.
    var v = P.neg_inf;
    if (acc_i != NONE) {
      v = acc;
      if (!is_nan(acc) && acc != P.neg_inf && acc != -P.neg_inf) { v = acc + log(lse_sum); }
    }
    Y[o] = {{OUT_T}}(v);
  } else {
    Y[o] = {{OUT_T}}(select(acc, select(-P.neg_inf, P.neg_inf, OP == 1u), acc_i == NONE));
  }
}

var<workgroup> sv: array<f32, 64>;
var<workgroup> si: array<u32, 64>;

@compute @workgroup_size(64)
fn main_tree(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = wid.x + wid.y * nwg.x;
  if (o >= P.n_out) { return; } // uniform across the workgroup
  let out_base = strided_offset(o, P.out_rank, P.out_shape, P.out_strides, P.base);
  var acc = 0.0;
  var acc_i = NONE;
  for (var r = lid; r < P.n_red; r += WG) {
    let v = load(out_base, r);
    if (OP == 0u) { acc += v; } else if (better(v, r, acc, acc_i)) { acc = v; acc_i = r; }
  }
  sv[lid] = acc;
  si[lid] = acc_i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      if (OP == 0u) { sv[lid] += sv[lid + s]; }
      else if (better(sv[lid + s], si[lid + s], sv[lid], si[lid])) { sv[lid] = sv[lid + s]; si[lid] = si[lid + s]; }
    }
    workgroupBarrier();
  }
  let total = sv[0];
  let total_i = si[0];
  workgroupBarrier();
  var lse_sum = 0.0;
  if (OP == 5u) {
    // logsumexp: a second pass with the max known, summing exp(x - max).
    var s_acc = 0.0;
    for (var r = lid; r < P.n_red; r += WG) { s_acc += exp(load(out_base, r) - total); }
    sv[lid] = s_acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid < s) { sv[lid] += sv[lid + s]; }
      workgroupBarrier();
    }
    lse_sum = sv[0];
  }
  if (lid == 0u) { finish(o, total, total_i, lse_sum); }
}

@compute @workgroup_size(64)
fn main_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_id(gid, nwg, WG);
  if (o >= P.n_out) { return; }
  let out_base = strided_offset(o, P.out_rank, P.out_shape, P.out_strides, P.base);
  var acc = 0.0;
  var acc_i = NONE;
  for (var r = 0u; r < P.n_red; r++) {
    let v = load(out_base, r);
    if (OP == 0u) { acc += v; } else if (better(v, r, acc, acc_i)) { acc = v; acc_i = r; }
  }
  var lse_sum = 0.0;
  if (OP == 5u) {
    for (var r = 0u; r < P.n_red; r++) { lse_sum += exp(load(out_base, r) - acc); }
  }
  finish(o, acc, acc_i, lse_sum);
}
