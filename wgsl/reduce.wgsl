// Reductions over any set of axes: sum (scaled, for mean), max, min, argmax, argmin, logsumexp.
// The kept dims (OUT) and reduced dims (RED) each come as shape + strides of the input view, so
// no transpose is ever copied. Two entry points:
//   main_tree:   one workgroup per output, a strided loop then a tree in workgroup memory
//                (long reductions);
//   main_serial: one invocation per output (short reductions over many outputs).
// OP is a specialization constant: 0 sum, 1 max, 2 min, 3 argmax, 4 argmin, 5 logsumexp.
//#include common

struct Params {
  n_out: u32,
  n_red: u32,
  out_rank: u32,
  red_rank: u32,
  scale: f32,
  base: u32,
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

fn load(out_base: u32, r: u32) -> f32 {
  if (P.red_rank == 1u) {
    return f32(X[out_base + r * P.red_strides[0][0]]);
  }
  return f32(X[strided_offset(r, P.red_rank, P.red_shape, P.red_strides, out_base)]);
}

fn identity() -> f32 {
  if (OP == 1u || OP == 3u || OP == 5u) { return -0x1.fffffep+127f; }
  if (OP == 2u || OP == 4u) { return 0x1.fffffep+127f; }
  return 0.0;
}

// Combines (v, i) into (acc, acc_i); argmax/argmin keep the lowest index among ties.
fn better(v: f32, i: u32, acc: f32, acc_i: u32) -> bool {
  if (OP == 1u || OP == 3u || OP == 5u) { return v > acc || (v == acc && i < acc_i) || (v != v && acc == acc); }
  return v < acc || (v == acc && i < acc_i) || (v != v && acc == acc);
}

fn write(o: u32, v: f32, vi: u32) {
  if (OP == 3u || OP == 4u) {
    Y[o] = {{OUT_T}}(vi);
  } else if (OP == 0u) {
    Y[o] = {{OUT_T}}(v * P.scale);
  } else {
    Y[o] = {{OUT_T}}(v);
  }
}

var<workgroup> sv: array<f32, 64>;
var<workgroup> si: array<u32, 64>;

@compute @workgroup_size(64)
fn main_tree(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = wid.x + wid.y * nwg.x;
  if (o >= P.n_out) { return; } // uniform across the workgroup
  let out_base = strided_offset(o, P.out_rank, P.out_shape, P.out_strides, P.base);
  var acc = identity();
  var acc_i = 0xffffffffu;
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
  if (OP == 5u) {
    // logsumexp: second pass with the max known, summing exp(x - max).
    let mx = sv[0];
    workgroupBarrier();
    var s_acc = 0.0;
    if (mx > -0x1.fffffep+127f) {
      for (var r = lid; r < P.n_red; r += WG) { s_acc += exp(load(out_base, r) - mx); }
    }
    sv[lid] = s_acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid < s) { sv[lid] += sv[lid + s]; }
      workgroupBarrier();
    }
    if (lid == 0u) { Y[o] = {{OUT_T}}(select(mx + log(sv[0]), mx, mx <= -0x1.fffffep+127f)); }
    return;
  }
  if (lid == 0u) { write(o, sv[0], si[0]); }
}

@compute @workgroup_size(64)
fn main_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_id(gid, nwg, WG);
  if (o >= P.n_out) { return; }
  let out_base = strided_offset(o, P.out_rank, P.out_shape, P.out_strides, P.base);
  var acc = identity();
  var acc_i = 0xffffffffu;
  for (var r = 0u; r < P.n_red; r++) {
    let v = load(out_base, r);
    if (OP == 0u) { acc += v; } else if (better(v, r, acc, acc_i)) { acc = v; acc_i = r; }
  }
  if (OP == 5u) {
    var s = 0.0;
    if (acc > -0x1.fffffep+127f) {
      for (var r = 0u; r < P.n_red; r++) { s += exp(load(out_base, r) - acc); }
      acc = acc + log(s);
    }
  }
  write(o, acc, acc_i);
}
