// Shared WGSL helpers, spliced into kernels by `//#include common` (src/backend/webgpu/source.ts).

// A shape or stride list of up to 8 dims, packed as two vec4s (uniform arrays need 16-byte elements).
fn dim8(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

// Offset of element `i` (row-major over `shape`) in a view with `strides`, starting at `base`.
fn strided_offset(i: u32, rank: u32, shape: array<vec4<u32>, 2>, strides: array<vec4<u32>, 2>, base: u32) -> u32 {
  var rem = i;
  var off = base;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = dim8(shape, u32(d));
    off += (rem % s) * dim8(strides, u32(d));
    rem = rem / s;
  }
  return off;
}

// Linear invocation index over a 2-D grid of 1-D workgroups of size `wg`.
fn linear_id(gid: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 {
  return gid.x + gid.y * nwg.x * wg;
}

// NaN test on the bits (exponent all ones, mantissa nonzero): compilers may fold `x != x` to
// false under fast-math assumptions (lavapipe does), which would silently drop NaN propagation.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}
