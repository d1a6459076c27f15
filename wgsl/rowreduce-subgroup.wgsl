// Segmented row reductions with subgroup operations (spliced into a kernel that defines WG and
// L). The host sets WG to the adapter's smallest subgroup size, so a workgroup is one subgroup;
// each row owns L consecutive lanes (L = WG: the whole subgroup, one register-level operation;
// shorter rows: a butterfly of subgroupShuffleXor within the L lanes). `slot` is the lane's
// subgroup_invocation_id. No workgroup memory, no barrier.
fn row_sum2(slot: u32, v: vec2<f32>) -> vec2<f32> {
  if (L == WG) { return subgroupAdd(v); }
  var t = v;
  for (var m = L / 2u; m > 0u; m >>= 1u) { t += subgroupShuffleXor(t, m); }
  return t;
}

fn row_max(slot: u32, v: f32) -> f32 {
  if (L == WG) { return subgroupMax(v); }
  var t = v;
  for (var m = L / 2u; m > 0u; m >>= 1u) { t = max(t, subgroupShuffleXor(t, m)); }
  return t;
}
