// Segmented row reductions across one workgroup (WG and L powers of two, defined by the including
// kernel; each row owns L consecutive invocations) with a tree in workgroup memory: the fallback
// where the device has no subgroup operations. `slot` is local_invocation_index.
// PIN_READS (the adapter's probe found its compiler moving a workgroup-memory read past the next
// workgroupBarrier, src/gpu/probe.ts): each result read is also stored to the lane's own slot of a
// second half before that barrier, which keeps the read in place (docs/ENGINE.md, "Driver bugs").
var<workgroup> rr: array<vec2<f32>, WG * 2u>;
const PIN_READS: bool = {{PIN_READS}};

fn row_sum2(slot: u32, v: vec2<f32>) -> vec2<f32> {
  rr[slot] = v;
  workgroupBarrier();
  for (var s = L / 2u; s > 0u; s >>= 1u) {
    if (slot % L < s) { rr[slot] += rr[slot + s]; }
    workgroupBarrier();
  }
  let r = rr[slot - slot % L];
  if (PIN_READS) { rr[WG + slot] = r; }
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
  if (PIN_READS) { rr[WG + slot].x = r; }
  workgroupBarrier();
  return r;
}
