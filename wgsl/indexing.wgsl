// Indexing kernels on contiguous data viewed as [outer, n, inner] around an axis.
//   gather:    out[o, i, k] = X[o, idx[i], k], 0 where idx[i] is out of range (one invocation per output)
//   index_add: out[o, j, k] += S[o, i, k] for every i with idx[i] == j (gather's adjoint): one
//              invocation per source element adds it atomically into its target, O(source size)
//              whatever the repetition; f32 adds are a compare-exchange loop on the bits (WGSL has
//              no float atomics), so repeated targets sum in arrival order. `clear` zeroes first.
//   place:     writes a contiguous part into a concatenation: out[o, at + k] = S[o, k]
//   check_range: a device-side assertion: writes its id (P.at) into Flag when an index lies
//              outside [0, n); the runtime reads Flag with the next readback and throws
//#include common

struct Params {
  total: u32,
  outer: u32,
  n: u32,      // size of the axis in X / out
  inner: u32,
  m: u32,      // length of the index list (gather/index_add), width of the part (place)
  at: u32,     // place: offset of the part along the flattened axis·inner; check_range: assertion id
  row: u32,    // place: flattened axis·inner of the output
  _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<{{T}}>;
@group(0) @binding(2) var<storage, read> Idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> Out: array<{{T}}>;
// place binds only these:
@group(0) @binding(1) var<storage, read> S: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> Dst: array<{{T}}>;

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_id(gid, nwg, 256u);
  if (t >= P.total) { return; }
  let k = t % P.inner;
  let i = (t / P.inner) % P.m;
  let o = t / (P.inner * P.m);
  let j = u32(Idx[i]); // a negative index wraps to a huge one
  // An index out of range reads 0 (as the CPU reference does), never another row or out of bounds.
  var v = {{T}}(0);
  if (j < P.n) { v = X[(o * P.n + j) * P.inner + k]; }
  Out[t] = v;
}

// index_add binds the output as atomics.
@group(0) @binding(3) var<storage, read_write> Acc: array<atomic<{{AT}}>>;

fn add_at(a: u32, v: {{T}}) {
{{ADD_AT}}
}

@compute @workgroup_size(256)
fn clear(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_id(gid, nwg, 256u);
  if (t < P.total) { atomicStore(&Acc[t], 0); }
}

@compute @workgroup_size(256)
fn index_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_id(gid, nwg, 256u);
  if (t >= P.total) { return; }
  let k = t % P.inner;
  let i = (t / P.inner) % P.m;
  let o = t / (P.inner * P.m);
  let j = u32(Idx[i]);
  if (j >= P.n) { return; } // an out-of-range index received nothing in the forward
  add_at((o * P.n + j) * P.inner + k, X[t]);
}

@compute @workgroup_size(256)
fn place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_id(gid, nwg, 256u);
  if (t >= P.total) { return; }
  let k = t % P.m;
  let o = t / P.m;
  Dst[o * P.row + P.at + k] = S[t];
}

// check_range binds (Idx, Idx, Flag).
@group(0) @binding(3) var<storage, read_write> Flag: array<u32>;

@compute @workgroup_size(256)
fn check_range(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_id(gid, nwg, 256u);
  if (t >= P.total) { return; }
  if (u32(Idx[t]) >= P.n) { Flag[0] = P.at; } // a negative index wraps to a huge one
}
