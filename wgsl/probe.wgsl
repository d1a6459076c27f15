// Known-answer checks run once at init (src/gpu/probe.ts) for driver bugs the kernels must work
// around; docs/ENGINE.md ("Driver bugs") has the reproductions. One workgroup of 64.
//   Out[2·lid], Out[2·lid + 1]: two back-to-back row sums (64 and 128) of the unpinned tree
//             (rowreduce-tree.wgsl, one row of 64). A compiler that moves the first sum's final
//             read past its barrier (Mesa < 23's GLSL) gives later lanes the second sum's inputs.
//   Out[128]: iterations a loop of P.loop_n trips actually ran: llvmpipe of Mesa 22 silently ends
//             every loop once an invocation has run about 65,535 iterations in all.
// P.plant (tests only) makes the GPU compute a wrong answer on purpose: 1 perturbs lane 9's input
// to the first sum, 2 ends the loop early; the probe must then report the bug. Keep the sums as
// they are (stored as computed, nothing between them): other shapes can hide the bug.
const WG: u32 = 64u;
const L: u32 = 64u;

{{ROW_REDUCE}}

struct Params {
  loop_n: u32,
  plant: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  let one = select(1.0, 2.0, P.plant == 1u && lid == 9u);
  let a = row_sum2(lid, vec2<f32>(one, 0.0)).x;
  let b = row_sum2(lid, vec2<f32>(2.0, 0.0)).x;
  Out[lid * 2u] = a;
  Out[lid * 2u + 1u] = b;
  if (lid == 0u) {
    var n = 0u;
    for (var i = 0u; i < P.loop_n; i++) {
      if (P.plant == 2u && i == 65535u) { break; }
      n += 1u;
    }
    Out[128] = f32(n);
  }
}
