// Reductions across one workgroup (WG a power of two, defined by the including kernel) with a
// tree in workgroup memory: the fallback where the device has no subgroup operations.
var<workgroup> rr: array<vec2<f32>, WG>;

fn row_sum2(lid: u32, v: vec2<f32>) -> vec2<f32> {
  rr[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { rr[lid] += rr[lid + s]; }
    workgroupBarrier();
  }
  let r = rr[0];
  workgroupBarrier();
  return r;
}

fn row_max(lid: u32, v: f32) -> f32 {
  rr[lid] = vec2<f32>(v, 0.0);
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { rr[lid].x = max(rr[lid].x, rr[lid + s].x); }
    workgroupBarrier();
  }
  let r = rr[0].x;
  workgroupBarrier();
  return r;
}
