// Reductions across one workgroup with subgroup operations (spliced into a kernel that defines
// WG). The host sets WG to the adapter's smallest subgroup size, so a workgroup is one subgroup
// and a reduction is one register-level operation: no workgroup memory, no barrier.
fn row_sum2(lid: u32, v: vec2<f32>) -> vec2<f32> {
  return subgroupAdd(v);
}

fn row_max(lid: u32, v: f32) -> f32 {
  return subgroupMax(v);
}
