// Segmented row reductions across one workgroup (WG and L powers of two, defined by the including
// kernel; each row owns L consecutive invocations) with a tree in workgroup memory: the fallback
// where the device has no subgroup operations. `slot` is local_invocation_index.
var<workgroup> rr: array<vec2<f32>, WG>;

fn row_sum2(slot: u32, v: vec2<f32>) -> vec2<f32> {
  rr[slot] = v;
  workgroupBarrier();
  for (var s = L / 2u; s > 0u; s >>= 1u) {
    if (slot % L < s) { rr[slot] += rr[slot + s]; }
    workgroupBarrier();
  }
  let r = rr[slot - slot % L];
  workgroupBarrier();
  return r;
}

fn row_max(slot: u32, v: f32) -> f32 {
  rr[slot] = vec2<f32>(v, 0.0);
  workgroupBarrier();
  for (var s = L / 2u; s > 0u; s >>= 1u) {
    if (slot % L < s) { rr[slot].x = max(rr[slot].x, rr[slot + s].x); }
    workgroupBarrier();
  }
  let r = rr[slot - slot % L].x;
  workgroupBarrier();
  return r;
}
