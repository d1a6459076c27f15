// Fused multi-head cross-attention, forward and backward (flash-attention 2 style).
//
// Per batch b and head h (columns h*DH .. h*DH+DH of the model dimension):
//   S = Q_h K_hᵀ · scale (+ key mask),  P = softmax(S),  O_h = dropout(P) V_h.
// Q, K, V are read through (offset, batch stride, row stride) with a unit stride inside a row, so
// the slices of a fused KV / QKV projection are bound without a copy.
//
// Forward keeps a running max m and sum l per query row (online softmax) and rescales its output
// accumulator as the max grows; it stores O and per row m and log l (not their sum, the
// log-sum-exp: at logits ~1e3 an f32 LSE is off by up to 3e-5, which would scale every recomputed
// P by up to 3e-5 and shift the row's dominant weight, and so dV, by that much, where PyTorch's
// float32 softmax is exact to ~1e-7; kept apart, S − m is exact near the max). The backward
// recomputes P = exp((S − m) − log l) blockwise, with S computed exactly as the forward did (the
// same terms in the same order: q·scale against k, summed over the head dim in one order), so the
// max key's weight is exp(−log l) = 1/l again: one kernel parallel over key rows accumulates dK and dV
// over all queries, another parallel over query rows accumulates dQ over all keys, so no float
// atomics and no [B, H, Tq, Tk] buffer. Delta_i = rowsum(dO_i ∘ O_i) is precomputed per row.
// Stats buffer [3, B*H*Tq]: m, log l, Delta (offsets 0, stat_n, 2*stat_n).
//   dS_ij = P_ij (z_ij dO_i·v_j − Delta_i) · scale,  dQ_i = Σ_j dS_ij k_j,
//   dK_j = Σ_i dS_ij q_i,  dV_j = Σ_i z_ij P_ij dO_i.
//
// Masked keys (Mask[b, j] == 0) get probability exactly 0; a row with every key masked yields 0
// (m is stored as NEG) and zero gradients. Attention dropout regenerates its keep mask from
// Philox4x32-10 (wgsl/philox.wgsl): pair (b, h, i, j) uses counter
// ctr + ((b*H + h)*Tq + i) * ceil(Tk/4) + j/4 and word j%4, and is kept when its 24-bit
// unit value ((x >> 8) + 0.5) / 2^24 is below 1 - p (compared as integers: x >> 8 < keep_thr).
//
// Two kernel families (src/backend/webgpu/attention.ts joins the shared section with the others):
//  staged — for GPUs. Section tiled (the default): several invocations per row, head vectors as
//           vec4 registers, the other operand staged in workgroup memory in blocks. Section
//           staged: the first version (one invocation per row, head vectors in local arrays),
//           kept as tuning staged: 'rows'; its bindings and delta entry serve the others.
//  direct — for CPU-emulated adapters (lavapipe / llvmpipe, SwiftShader): register-blocked,
//           subgroup broadcasts, nothing staged; the backward in one pass (bwd_direct) where
//           B·heads keeps the CPU's threads busy (see its section).

//#section shared
{{ENABLE}}
struct Params {
  H: u32,
  Tq: u32,
  Tk: u32,
  tk4: u32, // ceil(Tk / 4): dropout counters per query row
  q_off: u32,
  q_bs: u32,
  q_rs: u32,
  m_off: u32,
  k_off: u32,
  k_bs: u32,
  k_rs: u32,
  m_bs: u32,
  v_off: u32,
  v_bs: u32,
  v_rs: u32,
  g_off: u32,
  g_bs: u32,
  g_rs: u32,
  seed_lo: u32,
  seed_hi: u32,
  ctr_lo: u32,
  ctr_hi: u32,
  scale: f32,
  keep_thr: u32, // keep when (x >> 8) < keep_thr (src/backend/webgpu/attention.ts keepThreshold)
  inv_keep: f32,
  o_bs: u32, // output batch / row strides (contiguous [B, T, D] outputs)
  o_rs: u32,
  stat_n: u32, // B*H*Tq: stats are m, log l, Delta at offsets 0, stat_n, 2*stat_n
  dh: u32, // = DH, as a run-time loop bound (keeps CPU compilers from unrolling the loops)
  mflag: u32, // direct kernels: 1 when a key mask is bound
}

const DH: u32 = {{DH}}u;
const NEG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> P: Params;

//#include philox

// Dropout multipliers (0 or 1/keep_p) of keys j4*4 .. j4*4+3 for query row `row` = (b*H + h)*Tq + i.
fn drop4(row: u32, j4: u32) -> vec4<f32> {
  // counter = ctr + row * tk4 + j4 in 64 bits (row * tk4 passes 2^32 for long, wide batches)
  let n = mulhilo(row, P.tk4);
  let alo = n.y + j4;
  let ahi = n.x + select(0u, 1u, alo < j4);
  let lo = P.ctr_lo + alo;
  let hi = P.ctr_hi + ahi + select(0u, 1u, lo < alo);
  let r = philox(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(P.seed_lo, P.seed_hi));
  return select(vec4<f32>(0.0), vec4<f32>(P.inv_keep), (r >> vec4<u32>(8u)) < vec4<u32>(P.keep_thr));
}

//#section staged
// Bindings and the delta entry of the staged family. Its forward / dq / dkdv here are the first
// version (one invocation per row), selected by tuning staged: 'rows'; the default kernels are in
// the tiled section below.
// Tokens: WG invocations per workgroup (rows per block), BLK rows of the other operand per staged
// block (a multiple of 4), MASK / DROP (bool). Control flow stays uniform: rows past the end are
// clamped for reading and skipped when storing; every invocation reads the same staged element at
// the same time (a broadcast).

const WG: u32 = {{WG}}u;
const BLK: u32 = {{BLK}}u;
const MASK: bool = {{MASK}};
const DROP: bool = {{DROP}};

// Each entry point binds a prefix of these (a binding number is reused where no entry uses both).
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> Mask: array<i32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>; // forward
@group(0) @binding(6) var<storage, read_write> Lse: array<f32>; // forward: [3 * B*H*Tq], m then log l (Delta: backward)
@group(0) @binding(5) var<storage, read> G: array<f32>; // backward: dO
@group(0) @binding(6) var<storage, read> Stats: array<f32>; // backward: m, log l, Delta
@group(0) @binding(7) var<storage, read_write> DA: array<f32>; // dQ (dq) or dK (dkdv)
@group(0) @binding(8) var<storage, read_write> DB: array<f32>; // dV (dkdv)
@group(0) @binding(9) var<storage, read_write> DC: array<f32>; // dQ (bwd_direct)
// delta: (1) dO, (2) O, (3) stats
@group(0) @binding(1) var<storage, read> Gd: array<f32>;
@group(0) @binding(2) var<storage, read> Od: array<f32>;
@group(0) @binding(3) var<storage, read_write> StatsW: array<f32>;

var<workgroup> sa: array<f32, BLK * DH>; // K block (forward, dq) or Q block (dkdv)
var<workgroup> sb: array<f32, BLK * DH>; // V block (forward, dq) or dO block (dkdv)
var<workgroup> sk: array<f32, BLK>; // keep flag per key (forward, dq) or m per query (dkdv)
var<workgroup> sl: array<f32, BLK>; // log l per query (dkdv)
var<workgroup> sd: array<f32, BLK>; // Delta per query (dkdv)
var<workgroup> sz: array<f32, {{SZ}}>; // dropout multipliers [BLK queries][WG keys] (dkdv)

// Element d of the 4 staged rows starting at e0 (= row * DH), and flags / LSE of 4 staged rows.
fn sa4(e0: u32, d: u32) -> vec4<f32> {
  return vec4<f32>(sa[e0 + d], sa[e0 + DH + d], sa[e0 + 2u * DH + d], sa[e0 + 3u * DH + d]);
}
fn sb4(e0: u32, d: u32) -> vec4<f32> {
  return vec4<f32>(sb[e0 + d], sb[e0 + DH + d], sb[e0 + 2u * DH + d], sb[e0 + 3u * DH + d]);
}
fn sk4(j: u32) -> vec4<f32> {
  return vec4<f32>(sk[j], sk[j + 1u], sk[j + 2u], sk[j + 3u]);
}

// (S, dP) of one row against the 4 staged rows at e0: a · (sa rows), b · (sb rows).
fn dots4(a: ptr<function, array<f32, DH>>, b: ptr<function, array<f32, DH>>, e0: u32) -> array<vec4<f32>, 2> {
  var s = vec4<f32>(0.0);
  var dp = vec4<f32>(0.0);
  for (var d = 0u; d < P.dh; d++) {
    s = fma(vec4<f32>((*a)[d]), sa4(e0, d), s);
    dp = fma(vec4<f32>((*b)[d]), sb4(e0, d), dp);
  }
  return array<vec4<f32>, 2>(s, dp);
}

// ---- forward ---------------------------------------------------------------------------------
// grid (ceil(Tq / WG), B*H); one invocation per query row.

// Stages keys (or values) j0 .. j0+BLK of head h of batch b: rows past Tk repeat row Tk-1.
fn stage_kv(lid: u32, j0: u32, kbase: u32, vbase: u32) {
  for (var n = 0u; n < (BLK * P.dh + WG - 1u) / WG; n++) {
    let e = n * WG + lid;
    if (e < BLK * P.dh) {
      let j = min(j0 + e / DH, P.Tk - 1u);
      let d = e % DH;
      sa[e] = K[kbase + j * P.k_rs + d];
      sb[e] = V[vbase + j * P.v_rs + d];
    }
  }
}

// Keep flags of keys j0 .. j0+BLK: 0 past Tk or where masked.
fn stage_keep(lid: u32, j0: u32, b: u32) {
  for (var e = lid; e < BLK; e += WG) {
    let j = j0 + e;
    var keep = j < P.Tk;
    if (MASK) {
      keep = keep && Mask[P.m_off + b * P.m_bs + min(j, P.Tk - 1u)] != 0;
    }
    sk[e] = select(0.0, 1.0, keep);
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wid.y;
  let b = bh / P.H;
  let h = bh % P.H;
  let i = wid.x * WG + lid;
  let ic = min(i, P.Tq - 1u);
  let row = bh * P.Tq + ic;
  let qb = P.q_off + b * P.q_bs + ic * P.q_rs + h * DH;
  let kbase = P.k_off + b * P.k_bs + h * DH;
  let vbase = P.v_off + b * P.v_bs + h * DH;
  var q: array<f32, DH>;
  var o: array<f32, DH>;
  for (var d = 0u; d < P.dh; d++) {
    q[d] = Q[qb + d] * P.scale;
    o[d] = 0.0;
  }
  var m = NEG;
  var l = 0.0;
  for (var j0 = 0u; j0 < P.Tk; j0 += BLK) {
    workgroupBarrier();
    stage_kv(lid, j0, kbase, vbase);
    stage_keep(lid, j0, b);
    workgroupBarrier();
    var s: array<f32, BLK>;
    for (var j = 0u; j < BLK; j++) { s[j] = 0.0; }
    for (var d = 0u; d < P.dh; d++) {
      let qd = q[d];
      for (var j = 0u; j < BLK; j++) { s[j] = fma(qd, sa[j * DH + d], s[j]); }
    }
    var mb = m;
    for (var j = 0u; j < BLK; j++) { mb = max(mb, select(NEG, s[j], sk[j] != 0.0)); }
    let alpha = exp(m - mb);
    var ps = 0.0;
    for (var j = 0u; j < BLK; j++) {
      s[j] = select(0.0, exp(s[j] - mb), sk[j] != 0.0);
      ps += s[j];
    }
    l = l * alpha + ps;
    m = mb;
    if (DROP) {
      for (var c = 0u; c < BLK / 4u; c++) {
        let z = drop4(row, j0 / 4u + c);
        for (var t = 0u; t < 4u; t++) { s[c * 4u + t] *= z[t]; }
      }
    }
    for (var d = 0u; d < P.dh; d++) {
      var acc = o[d] * alpha;
      for (var j = 0u; j < BLK; j++) { acc = fma(s[j], sb[j * DH + d], acc); }
      o[d] = acc;
    }
  }
  if (i < P.Tq) {
    let ob = b * P.o_bs + i * P.o_rs + h * DH;
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var d = 0u; d < P.dh; d++) { O[ob + d] = o[d] * inv; }
    Lse[row] = select(NEG, m, l > 0.0);
    Lse[P.stat_n + row] = select(0.0, log(l), l > 0.0);
  }
}

// ---- backward: Delta_i = rowsum(dO_i ∘ O_i) ----------------------------------------------------
// grid1D(B*H*Tq, WG); O is contiguous [B, Tq, H*DH].

@compute @workgroup_size(WG)
fn delta(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= P.stat_n) { return; }
  let i = r % P.Tq;
  let bh = r / P.Tq;
  let b = bh / P.H;
  let h = bh % P.H;
  let gb = P.g_off + b * P.g_bs + i * P.g_rs + h * DH;
  let ob = b * P.o_bs + i * P.o_rs + h * DH;
  var acc = 0.0;
  for (var d = 0u; d < P.dh; d++) { acc = fma(Gd[gb + d], Od[ob + d], acc); }
  StatsW[2u * P.stat_n + r] = acc;
}

// ---- backward: dQ ------------------------------------------------------------------------------
// grid (ceil(Tq / WG), B*H); one invocation per query row, walking key blocks.
//   dS_ij = P_ij (z_ij dO_i·v_j − Delta_i),  dQ_i = scale Σ_j dS_ij k_j

@compute @workgroup_size(WG)
fn dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wid.y;
  let b = bh / P.H;
  let h = bh % P.H;
  let i = wid.x * WG + lid;
  let ic = min(i, P.Tq - 1u);
  let row = bh * P.Tq + ic;
  let qb = P.q_off + b * P.q_bs + ic * P.q_rs + h * DH;
  let gb = P.g_off + b * P.g_bs + ic * P.g_rs + h * DH;
  let kbase = P.k_off + b * P.k_bs + h * DH;
  let vbase = P.v_off + b * P.v_bs + h * DH;
  var q: array<f32, DH>;
  var g: array<f32, DH>;
  var dqa: array<f32, DH>;
  for (var d = 0u; d < P.dh; d++) {
    q[d] = Q[qb + d] * P.scale;
    g[d] = G[gb + d];
    dqa[d] = 0.0;
  }
  let mx = vec4<f32>(Stats[row]);
  let ll = vec4<f32>(Stats[P.stat_n + row]);
  let dlt = Stats[2u * P.stat_n + row];
  for (var j0 = 0u; j0 < P.Tk; j0 += BLK) {
    workgroupBarrier();
    stage_kv(lid, j0, kbase, vbase);
    stage_keep(lid, j0, b);
    workgroupBarrier();
    for (var c = 0u; c < BLK / 4u; c++) {
      let e0 = c * 4u * DH;
      let sdp = dots4(&q, &g, e0);
      let s = sdp[0];
      let dp = sdp[1];
      let keep = sk4(c * 4u) != vec4<f32>(0.0);
      let p = select(vec4<f32>(0.0), exp((s - mx) - ll), keep);
      var z = vec4<f32>(1.0);
      if (DROP) { z = drop4(row, j0 / 4u + c); }
      let ds = p * (dp * z - vec4<f32>(dlt)) * P.scale;
      for (var d = 0u; d < P.dh; d++) {
        let kv = sa4(e0, d);
        dqa[d] += dot(ds, kv);
      }
    }
  }
  if (i < P.Tq) {
    let ob = b * P.o_bs + i * P.o_rs + h * DH;
    for (var d = 0u; d < P.dh; d++) { DA[ob + d] = dqa[d]; }
  }
}

// ---- backward: dK, dV --------------------------------------------------------------------------
// grid (ceil(Tk / WG), B*H); one invocation per key row, walking query blocks.
//   dV_j = Σ_i z_ij P_ij dO_i,  dK_j = Σ_i dS_ij (scale q_i)  (q staged scaled: S as the forward has it)

@compute @workgroup_size(WG)
fn dkdv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wid.y;
  let b = bh / P.H;
  let h = bh % P.H;
  let j = wid.x * WG + lid;
  let jc = min(j, P.Tk - 1u);
  let kb = P.k_off + b * P.k_bs + jc * P.k_rs + h * DH;
  let vb = P.v_off + b * P.v_bs + jc * P.v_rs + h * DH;
  let qbase = P.q_off + b * P.q_bs + h * DH;
  let gbase = P.g_off + b * P.g_bs + h * DH;
  var keep = j < P.Tk;
  if (MASK) { keep = keep && Mask[P.m_off + b * P.m_bs + jc] != 0; }
  var k: array<f32, DH>;
  var v: array<f32, DH>;
  var dka: array<f32, DH>;
  var dva: array<f32, DH>;
  for (var d = 0u; d < P.dh; d++) {
    k[d] = K[kb + d];
    v[d] = V[vb + d];
    dka[d] = 0.0;
    dva[d] = 0.0;
  }
  for (var i0 = 0u; i0 < P.Tq; i0 += BLK) {
    workgroupBarrier();
    for (var n = 0u; n < (BLK * P.dh + WG - 1u) / WG; n++) {
      let e = n * WG + lid;
      if (e < BLK * P.dh) {
        let i = min(i0 + e / DH, P.Tq - 1u);
        let d = e % DH;
        sa[e] = Q[qbase + i * P.q_rs + d] * P.scale;
        sb[e] = G[gbase + i * P.g_rs + d];
      }
    }
    for (var e = lid; e < BLK; e += WG) {
      let i = i0 + e;
      let r = bh * P.Tq + min(i, P.Tq - 1u);
      // a query row past Tq gets m = +3e38, so its P is exactly 0
      sk[e] = select(-NEG, Stats[r], i < P.Tq);
      sl[e] = Stats[P.stat_n + r];
      sd[e] = Stats[2u * P.stat_n + r];
    }
    if (DROP) {
      // multipliers of queries i0 .. i0+BLK for this workgroup's WG keys, one Philox per 4 keys
      for (var e = lid; e < BLK * WG / 4u; e += WG) {
        let qi = e / (WG / 4u);
        let c = e % (WG / 4u);
        let r = bh * P.Tq + min(i0 + qi, P.Tq - 1u);
        let z = drop4(r, (wid.x * WG) / 4u + c);
        for (var t = 0u; t < 4u; t++) { sz[qi * WG + c * 4u + t] = z[t]; }
      }
    }
    workgroupBarrier();
    for (var c = 0u; c < BLK / 4u; c++) {
      let e0 = c * 4u * DH;
      let sdp = dots4(&k, &v, e0);
      let s = sdp[0];
      let dp = sdp[1];
      let mx = sk4(c * 4u);
      let ll = vec4<f32>(sl[c * 4u], sl[c * 4u + 1u], sl[c * 4u + 2u], sl[c * 4u + 3u]);
      let dl = vec4<f32>(sd[c * 4u], sd[c * 4u + 1u], sd[c * 4u + 2u], sd[c * 4u + 3u]);
      let p = select(vec4<f32>(0.0), exp((s - mx) - ll), vec4<bool>(keep));
      var z = vec4<f32>(1.0);
      if (DROP) {
        z = vec4<f32>(sz[(c * 4u) * WG + lid], sz[(c * 4u + 1u) * WG + lid], sz[(c * 4u + 2u) * WG + lid], sz[(c * 4u + 3u) * WG + lid]);
      }
      let pz = p * z;
      let ds = p * (dp * z - dl); // the staged q carries the scale
      for (var d = 0u; d < P.dh; d++) {
        let qv = sa4(e0, d);
        let gv = sb4(e0, d);
        dka[d] += dot(ds, qv);
        dva[d] += dot(pz, gv);
      }
    }
  }
  if (j < P.Tk) {
    let ob = b * P.o_bs + j * P.o_rs + h * DH;
    for (var d = 0u; d < P.dh; d++) {
      DA[ob + d] = dka[d];
      DB[ob + d] = dva[d];
    }
  }
}

//#section tiled
// The staged family's default kernels for GPUs (joined after the staged section, whose bindings
// and delta entry they share; the staged section's own forward / dq / dkdv, one invocation per row
// with whole head vectors in local arrays, remain as tuning staged: 'rows'). Each row (a query row:
// forward, dq; a key row: dkdv) is owned by TPR adjacent invocations; invocation t of a row owns
// the head-dim chunks c = t + TPR*u (u < NV) of 4 elements each, so its head vectors and
// accumulators are NV vec4 registers (no local arrays indexed at run time, no spills at DH = 128
// or 256). An invocation may own RPT rows (rg + n*RG), so each staged chunk it reads feeds RPT
// rows. A workgroup owns RG*RPT rows of one (batch, head); the other operand is walked in blocks
// of BK rows staged in workgroup memory as vec4 chunks (DV = NV*TPR chunks per row, zero past
// DH), each block in groups of KG rows: partial dot products per invocation, summed over the TPR
// invocations of the row by reduce() (subgroup shuffles where the device has subgroups of at least
// TPR lanes, workgroup memory otherwise), then the online softmax / dS and the accumulation. While
// reading a staged chunk, the TPR invocations of a row read TPR consecutive vec4s and every row
// reads the same ones (broadcast, no bank conflicts). src/backend/webgpu/attention.ts (tiledConfig)
// picks the geometry; on the H200 the best measured was TPR = DH/16, RPT = 1, BK = 8, 128
// invocations per workgroup.
// Tokens: TPR, NV, RPT, RG, BK, KG (4 or 8; divides BK), NRED (vec4s reduced per group), RZ, LOADERS,
// REDUCE (the reduce() function with its workgroup scratch, generated in src/backend/webgpu/attention.ts).

const TPR: u32 = {{TPR}}u;
const NV: u32 = {{NV}}u;
const DV: u32 = NV * TPR;
const RPT: u32 = {{RPT}}u; // rows per invocation: row n of a group is rg + n * RG
const RG: u32 = {{RG}}u; // row groups per workgroup (invocations / TPR)
const ROWS: u32 = RG * RPT;
const WGT: u32 = RG * TPR;
const BK: u32 = {{BK}}u;
const KG: u32 = {{KG}}u;
const KG4: u32 = KG / 4u;
const NRED: u32 = {{NRED}}u; // KG4 * RPT (forward) or 2 * KG4 * RPT (backward)
const NA: u32 = NV * RPT; // head-vector chunks per invocation, [RPT][NV]

// 0. On GPUs the constant 0, so the loops over chunks unroll and the head vectors stay in
// registers; on CPU adapters a run-time 0 ({{RZ}}), which keeps their compilers from unrolling
// everything (minutes of LLVM time per kernel at DH = 128). The loop over the groups of a block
// always has a run-time bound (code size).
fn rz() -> u32 { return {{RZ}}; }
fn rzg() -> u32 { return P.dh >> 16u; }

var<workgroup> ta: array<vec4<f32>, BK * DV>; // K block (forward, dq) or Q block (dkdv)
var<workgroup> tb: array<vec4<f32>, BK * DV>; // V block (forward, dq) or dO block (dkdv)
var<workgroup> tf: array<vec4<f32>, BK / 4u>; // keep flags of keys (forward, dq) or m of queries (dkdv)
var<workgroup> tl: array<vec4<f32>, BK / 4u>; // log l of queries (dkdv)
var<workgroup> td: array<vec4<f32>, BK / 4u>; // Delta of queries (dkdv)

{{REDUCE}}

// ldq / ldk / ldv / ldg(base, d): elements d .. d+3 of the row at `base` of Q / K / V / dO, zero
// past DH (the LOADERS token: scalar loads with clamped indices, or one vec4 load where the operands'
// offsets, strides and DH are multiples of 4; generated in src/backend/webgpu/attention.ts).
{{LOADERS}}

// Stages keys and values j0 .. j0+BK of (b, h) into ta / tb (rows past Tk repeat row Tk-1) and
// their keep flags into tf (0 past Tk or where masked).
fn stage_keys(lid: u32, j0: u32, b: u32, kbase: u32, vbase: u32) {
  for (var n = 0u; n < (BK * DV + WGT - 1u) / WGT; n++) {
    let e = n * WGT + lid;
    if (e < BK * DV) {
      let j = min(j0 + e / DV, P.Tk - 1u);
      let d = (e % DV) * 4u;
      ta[e] = ldk(kbase + j * P.k_rs, d);
      tb[e] = ldv(vbase + j * P.v_rs, d);
    }
  }
  for (var e = lid; e < BK / 4u; e += WGT) {
    var f = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + e * 4u + c;
      var keep = j < P.Tk;
      if (MASK) { keep = keep && Mask[P.m_off + b * P.m_bs + min(j, P.Tk - 1u)] != 0; }
      f[c] = select(0.0, 1.0, keep);
    }
    tf[e] = f;
  }
}

// Partial dot products of the invocation's RPT head vectors in `a` with staged rows g0 .. g0+KG
// of ta (into x[r*KG4 + c4]) and, when `two`, of `b` with tb (into x[RPT*KG4 + r*KG4 + c4]).
fn dots(a: ptr<function, array<vec4<f32>, NA>>, b: ptr<function, array<vec4<f32>, NA>>, two: bool, g0: u32, t: u32, x: ptr<function, array<vec4<f32>, NRED>>) {
  for (var c4 = 0u; c4 < KG4; c4++) {
    for (var cc = 0u; cc < 4u; cc++) {
      let e0 = (g0 + c4 * 4u + cc) * DV + t;
      var sa: array<f32, RPT>;
      var sb: array<f32, RPT>;
      for (var r = 0u; r < RPT; r++) { sa[r] = 0.0; sb[r] = 0.0; }
      for (var u = 0u; u < NV + rz(); u++) {
        let ka = ta[e0 + TPR * u];
        for (var r = 0u; r < RPT; r++) { sa[r] += dot((*a)[r * NV + u], ka); }
        if (two) {
          let kb = tb[e0 + TPR * u];
          for (var r = 0u; r < RPT; r++) { sb[r] += dot((*b)[r * NV + u], kb); }
        }
      }
      for (var r = 0u; r < RPT; r++) {
        (*x)[r * KG4 + c4][cc] = sa[r];
        if (two) { (*x)[RPT * KG4 + r * KG4 + c4][cc] = sb[r]; }
      }
    }
  }
}

// acc[r][u] += Σ_c w[r*KG4 + c4][cc] · blk[(g0 + c) * DV + t + TPR*u] (blk: 0 = ta, 1 = tb;
// w at offset `wo` in x).
fn accum(acc: ptr<function, array<vec4<f32>, NA>>, x: ptr<function, array<vec4<f32>, NRED>>, wo: u32, useb: bool, g0: u32, t: u32) {
  for (var u = 0u; u < NV + rz(); u++) {
    for (var c4 = 0u; c4 < KG4; c4++) {
      let e0 = (g0 + c4 * 4u) * DV + t + TPR * u;
      var k0: vec4<f32>;
      var k1: vec4<f32>;
      var k2: vec4<f32>;
      var k3: vec4<f32>;
      if (useb) { k0 = tb[e0]; k1 = tb[e0 + DV]; k2 = tb[e0 + 2u * DV]; k3 = tb[e0 + 3u * DV]; }
      else { k0 = ta[e0]; k1 = ta[e0 + DV]; k2 = ta[e0 + 2u * DV]; k3 = ta[e0 + 3u * DV]; }
      for (var r = 0u; r < RPT; r++) {
        let w = (*x)[wo + r * KG4 + c4];
        var s = (*acc)[r * NV + u];
        s = fma(vec4<f32>(w.x), k0, s);
        s = fma(vec4<f32>(w.y), k1, s);
        s = fma(vec4<f32>(w.z), k2, s);
        s = fma(vec4<f32>(w.w), k3, s);
        (*acc)[r * NV + u] = s;
      }
    }
  }
}

// Writes chunk row r of an invocation to `ob` of a contiguous output (elements < DH): O (forward),
// DA (dQ or dK), DB (dV); one function each so an entry binds only what it writes.
fn store_o(ob: u32, t: u32, r: u32, x: ptr<function, array<vec4<f32>, NA>>, scale: f32) {
  for (var u = 0u; u < NV + rz(); u++) {
    let d = (t + TPR * u) * 4u;
    let v = (*x)[r * NV + u] * scale;
    for (var c = 0u; c < 4u; c++) { if (d + c < DH) { O[ob + d + c] = v[c]; } }
  }
}
fn store_da(ob: u32, t: u32, r: u32, x: ptr<function, array<vec4<f32>, NA>>) {
  for (var u = 0u; u < NV + rz(); u++) {
    let d = (t + TPR * u) * 4u;
    let v = (*x)[r * NV + u];
    for (var c = 0u; c < 4u; c++) { if (d + c < DH) { DA[ob + d + c] = v[c]; } }
  }
}
fn store_db(ob: u32, t: u32, r: u32, x: ptr<function, array<vec4<f32>, NA>>) {
  for (var u = 0u; u < NV + rz(); u++) {
    let d = (t + TPR * u) * 4u;
    let v = (*x)[r * NV + u];
    for (var c = 0u; c < 4u; c++) { if (d + c < DH) { DB[ob + d + c] = v[c]; } }
  }
}

// ---- forward: grid (ceil(Tq / ROWS), B*H) --------------------------------------------------------
@compute @workgroup_size(WGT)
fn forward_t(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wid.y;
  let b = bh / P.H;
  let h = bh % P.H;
  let t = lid % TPR;
  let i0 = wid.x * ROWS + lid / TPR;
  let kbase = P.k_off + b * P.k_bs + h * DH;
  let vbase = P.v_off + b * P.v_bs + h * DH;
  var q: array<vec4<f32>, NA>;
  var o: array<vec4<f32>, NA>;
  var m: array<f32, RPT>;
  var l: array<f32, RPT>;
  for (var r = 0u; r < RPT; r++) {
    let ic = min(i0 + r * RG, P.Tq - 1u);
    let qb = P.q_off + b * P.q_bs + ic * P.q_rs + h * DH;
    for (var u = 0u; u < NV + rz(); u++) {
      q[r * NV + u] = ldq(qb, (t + TPR * u) * 4u) * P.scale;
      o[r * NV + u] = vec4<f32>(0.0);
    }
    m[r] = NEG;
    l[r] = 0.0;
  }
  for (var j0 = 0u; j0 < P.Tk; j0 += BK) {
    workgroupBarrier();
    stage_keys(lid, j0, b, kbase, vbase);
    workgroupBarrier();
    for (var g0 = 0u; g0 < BK + rzg(); g0 += KG) {
      if (j0 + g0 >= P.Tk) { break; }
      var x: array<vec4<f32>, NRED>;
      dots(&q, &q, false, g0, t, &x);
      reduce(&x, lid);
      for (var r = 0u; r < RPT; r++) {
        var mb = m[r];
        for (var c4 = 0u; c4 < KG4; c4++) {
          let keep = tf[(g0 >> 2u) + c4] != vec4<f32>(0.0);
          let sm = select(vec4<f32>(NEG), x[r * KG4 + c4], keep);
          mb = max(mb, max(max(sm.x, sm.y), max(sm.z, sm.w)));
        }
        let alpha = exp(m[r] - mb);
        var ps = 0.0;
        for (var c4 = 0u; c4 < KG4; c4++) {
          let keep = tf[(g0 >> 2u) + c4] != vec4<f32>(0.0);
          var p = select(vec4<f32>(0.0), exp(x[r * KG4 + c4] - vec4<f32>(mb)), keep);
          ps += dot(p, vec4<f32>(1.0));
          if (DROP) { p *= drop4(bh * P.Tq + min(i0 + r * RG, P.Tq - 1u), (j0 + g0) / 4u + c4); }
          x[r * KG4 + c4] = p;
        }
        l[r] = l[r] * alpha + ps;
        m[r] = mb;
        for (var u = 0u; u < NV + rz(); u++) { o[r * NV + u] *= alpha; }
      }
      accum(&o, &x, 0u, true, g0, t);
    }
  }
  for (var r = 0u; r < RPT; r++) {
    let i = i0 + r * RG;
    if (i < P.Tq) {
      store_o(b * P.o_bs + i * P.o_rs + h * DH, t, r, &o, select(0.0, 1.0 / l[r], l[r] > 0.0));
      if (t == 0u) {
        Lse[bh * P.Tq + i] = select(NEG, m[r], l[r] > 0.0);
        Lse[P.stat_n + bh * P.Tq + i] = select(0.0, log(l[r]), l[r] > 0.0);
      }
    }
  }
}

// ---- backward: dQ, grid (ceil(Tq / ROWS), B*H) ----------------------------------------------------
//   dS_ij = P_ij (z_ij dO_i·v_j − Delta_i) · scale,  dQ_i = Σ_j dS_ij k_j
@compute @workgroup_size(WGT)
fn dq_t(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wid.y;
  let b = bh / P.H;
  let h = bh % P.H;
  let t = lid % TPR;
  let i0 = wid.x * ROWS + lid / TPR;
  let kbase = P.k_off + b * P.k_bs + h * DH;
  let vbase = P.v_off + b * P.v_bs + h * DH;
  var q: array<vec4<f32>, NA>;
  var g: array<vec4<f32>, NA>;
  var acc: array<vec4<f32>, NA>;
  var mx: array<f32, RPT>;
  var ll: array<f32, RPT>;
  var dlt: array<f32, RPT>;
  for (var r = 0u; r < RPT; r++) {
    let ic = min(i0 + r * RG, P.Tq - 1u);
    let qb = P.q_off + b * P.q_bs + ic * P.q_rs + h * DH;
    let gb = P.g_off + b * P.g_bs + ic * P.g_rs + h * DH;
    for (var u = 0u; u < NV + rz(); u++) {
      let d = (t + TPR * u) * 4u;
      q[r * NV + u] = ldq(qb, d) * P.scale;
      g[r * NV + u] = ldg(gb, d);
      acc[r * NV + u] = vec4<f32>(0.0);
    }
    mx[r] = Stats[bh * P.Tq + ic];
    ll[r] = Stats[P.stat_n + bh * P.Tq + ic];
    dlt[r] = Stats[2u * P.stat_n + bh * P.Tq + ic];
  }
  for (var j0 = 0u; j0 < P.Tk; j0 += BK) {
    workgroupBarrier();
    stage_keys(lid, j0, b, kbase, vbase);
    workgroupBarrier();
    for (var g0 = 0u; g0 < BK + rzg(); g0 += KG) {
      if (j0 + g0 >= P.Tk) { break; }
      var x: array<vec4<f32>, NRED>;
      dots(&q, &g, true, g0, t, &x);
      reduce(&x, lid);
      for (var r = 0u; r < RPT; r++) {
        for (var c4 = 0u; c4 < KG4; c4++) {
          let keep = tf[(g0 >> 2u) + c4] != vec4<f32>(0.0);
          let p = select(vec4<f32>(0.0), exp((x[r * KG4 + c4] - vec4<f32>(mx[r])) - vec4<f32>(ll[r])), keep);
          var z = vec4<f32>(1.0);
          if (DROP) { z = drop4(bh * P.Tq + min(i0 + r * RG, P.Tq - 1u), (j0 + g0) / 4u + c4); }
          x[r * KG4 + c4] = p * (x[RPT * KG4 + r * KG4 + c4] * z - vec4<f32>(dlt[r])) * P.scale;
        }
      }
      accum(&acc, &x, 0u, false, g0, t);
    }
  }
  for (var r = 0u; r < RPT; r++) {
    let i = i0 + r * RG;
    if (i < P.Tq) { store_da(b * P.o_bs + i * P.o_rs + h * DH, t, r, &acc); }
  }
}

// ---- backward: dK, dV, grid (ceil(Tk / ROWS), B*H) ------------------------------------------------
//   dV_j = Σ_i z_ij P_ij dO_i,  dK_j = Σ_i dS_ij (scale q_i)  (q staged scaled: S as the forward has it)
@compute @workgroup_size(WGT)
fn dkdv_t(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wid.y;
  let b = bh / P.H;
  let h = bh % P.H;
  let t = lid % TPR;
  let j0r = wid.x * ROWS + lid / TPR;
  let qbase = P.q_off + b * P.q_bs + h * DH;
  let gbase = P.g_off + b * P.g_bs + h * DH;
  var k: array<vec4<f32>, NA>;
  var v: array<vec4<f32>, NA>;
  var dk: array<vec4<f32>, NA>;
  var dv: array<vec4<f32>, NA>;
  var keep: array<bool, RPT>;
  for (var r = 0u; r < RPT; r++) {
    let j = j0r + r * RG;
    let jc = min(j, P.Tk - 1u);
    let kb = P.k_off + b * P.k_bs + jc * P.k_rs + h * DH;
    let vb = P.v_off + b * P.v_bs + jc * P.v_rs + h * DH;
    keep[r] = j < P.Tk;
    if (MASK) { keep[r] = keep[r] && Mask[P.m_off + b * P.m_bs + jc] != 0; }
    for (var u = 0u; u < NV + rz(); u++) {
      let d = (t + TPR * u) * 4u;
      k[r * NV + u] = ldk(kb, d);
      v[r * NV + u] = ldv(vb, d);
      dk[r * NV + u] = vec4<f32>(0.0);
      dv[r * NV + u] = vec4<f32>(0.0);
    }
  }
  for (var i0 = 0u; i0 < P.Tq; i0 += BK) {
    workgroupBarrier();
    for (var n = 0u; n < (BK * DV + WGT - 1u) / WGT; n++) {
      let e = n * WGT + lid;
      if (e < BK * DV) {
        let i = min(i0 + e / DV, P.Tq - 1u);
        let d = (e % DV) * 4u;
        ta[e] = ldq(qbase + i * P.q_rs, d) * P.scale;
        tb[e] = ldg(gbase + i * P.g_rs, d);
      }
    }
    for (var e = lid; e < BK / 4u; e += WGT) {
      var fm = vec4<f32>(0.0);
      var fl = vec4<f32>(0.0);
      var fd = vec4<f32>(0.0);
      for (var c = 0u; c < 4u; c++) {
        let i = i0 + e * 4u + c;
        let r = bh * P.Tq + min(i, P.Tq - 1u);
        // a query row past Tq gets m = +3e38, so its P is exactly 0
        fm[c] = select(-NEG, Stats[r], i < P.Tq);
        fl[c] = Stats[P.stat_n + r];
        fd[c] = Stats[2u * P.stat_n + r];
      }
      tf[e] = fm;
      tl[e] = fl;
      td[e] = fd;
    }
    workgroupBarrier();
    for (var g0 = 0u; g0 < BK + rzg(); g0 += KG) {
      if (i0 + g0 >= P.Tq) { break; }
      var x: array<vec4<f32>, NRED>;
      dots(&k, &v, true, g0, t, &x);
      reduce(&x, lid);
      for (var r = 0u; r < RPT; r++) {
        let jc = min(j0r + r * RG, P.Tk - 1u);
        for (var c4 = 0u; c4 < KG4; c4++) {
          let p = select(vec4<f32>(0.0), exp((x[r * KG4 + c4] - tf[(g0 >> 2u) + c4]) - tl[(g0 >> 2u) + c4]), vec4<bool>(keep[r]));
          var z = vec4<f32>(1.0);
          if (DROP) {
            for (var cc = 0u; cc < 4u; cc++) {
              let qr = bh * P.Tq + min(i0 + g0 + c4 * 4u + cc, P.Tq - 1u);
              z[cc] = drop4(qr, jc / 4u)[jc % 4u];
            }
          }
          let dp = x[RPT * KG4 + r * KG4 + c4];
          x[RPT * KG4 + r * KG4 + c4] = p * z;
          x[r * KG4 + c4] = p * (dp * z - td[(g0 >> 2u) + c4]); // the staged q carries the scale
        }
      }
      accum(&dk, &x, 0u, false, g0, t);
      accum(&dv, &x, RPT * KG4, true, g0, t);
    }
  }
  for (var r = 0u; r < RPT; r++) {
    let j = j0r + r * RG;
    if (j < P.Tk) {
      let ob = b * P.o_bs + j * P.o_rs + h * DH;
      store_da(ob, t, r, &dk);
      store_db(ob, t, r, &dv);
    }
  }
}

//#section direct
// Register-blocked, for CPU-emulated adapters (llvmpipe, SwiftShader); compiled after the staged
// section (it uses its bindings).
// Where a "GPU" is a SIMD loop on a CPU core (one subgroup = one vector register), every load
// from a storage buffer or workgroup memory inside a loop is emulated lane by lane, while
// arithmetic and subgroup shuffles are single vector instructions. So these kernels stage
// nothing and make every load count: a workgroup is one subgroup of SG lanes; each lane owns R
// query rows (rows lid + r*SG of its block) with their head vectors and accumulators in
// function-local arrays; per step of KB keys, each lane loads element d0 + lane of each key row
// (one load brings SG useful values) and subgroupBroadcast hands element d0 + t to every lane,
// where it feeds R fused multiply-adds. Loops over the head dimension step by SG; the statements
// over t, rows r and keys c inside them are unrolled by src/backend/webgpu/attention.ts ({{...}} blocks).
// Needs DH % SG == 0 and the subgroups feature; otherwise the staged kernels above run.

const R: u32 = {{R}}u;
const KB: u32 = {{KB}}u;
const SG: u32 = {{SG}}u;

// forward_direct, dq_direct, dkdv_direct: one skeleton, the statements generated per kind.
//  forward: lanes own query rows; per step of KB keys S, the online softmax, then O += P V.
//  dq:      lanes own query rows; per step of KB keys S and dP, dS = P ∘ (z ∘ dP − Delta) · scale,
//           then dQ += dS K.
//  dkdv:    lanes own key rows (key lid*R + r of the block, so a lane's keys share dropout draws);
//           per step of KB queries Sᵀ (k against q·scale, as the forward's q·scale against k) and
//           dPᵀ, then dV += (z ∘ P)ᵀ dO and dK += dSᵀ Q.
// INIT: row bases and accumulators; LOAD: the lane's head vectors; STEP: the KB other rows of this
// step; DOT / ACC: per SG head dims, the products and the accumulation; MID: between them.
@compute @workgroup_size(SG)
fn {{ENTRY}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wid.y;
  let b = bh / P.H;
  let h = bh % P.H;
{{INIT}}
  for (var d = 0u; d < P.dh; d++) {
{{LOAD}}
  }
  for (var {{C0}} = 0u; {{C0}} < {{NC}}; {{C0}} += KB) {
{{STEP}}
    for (var d0 = 0u; d0 < P.dh; d0 += SG) {
{{DOT}}
    }
{{MID}}
    for (var d0 = 0u; d0 < P.dh; d0 += SG) {
{{ACC}}
    }
  }
{{STORE}}
}

// bwd_direct: the whole backward of one (batch, head) in one workgroup, so S and dP are computed
// once (not once for dQ and again for dK, dV). It walks the key blocks (SG·R keys, R per lane, as
// dkdv_direct) one after another, and for each walks every query step: dV, dK accumulate in the
// lanes' registers as in dkdv_direct, and dQ_i += Σ_j dS_ij k_j is added into DC directly — lanes
// own SG head dims there, dS reaches them by subgroupBroadcast. No other workgroup writes those dQ
// rows and the key blocks run in order, so the read-add-write needs no atomics; the first key block
// writes instead of adding (DC starts uninitialized). One workgroup per (b, h): used when B·H alone
// keeps the CPU's threads busy (src/backend/webgpu/attention.ts).
@compute @workgroup_size(SG)
fn {{B_ENTRY}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wid.y;
  let b = bh / P.H;
  let h = bh % P.H;
  let dqbase = b * P.Tq * P.o_rs + h * DH + lid;
  let kxbase = P.k_off + b * P.k_bs + h * DH + lid;
  for (var jb = 0u; jb < P.Tk; jb += SG * R) {
    let first = jb == 0u;
{{B_INIT}}
    for (var d = 0u; d < P.dh; d++) {
{{B_LOAD}}
    }
    for (var i0 = 0u; i0 < P.Tq; i0 += KB) {
{{B_STEP}}
      for (var d0 = 0u; d0 < P.dh; d0 += SG) {
{{B_DOT}}
      }
{{B_MID}}
      for (var d0 = 0u; d0 < P.dh; d0 += SG) {
{{B_ACC}}
      }
      for (var d0 = 0u; d0 < P.dh; d0 += SG) {
{{B_DQ}}
      }
    }
{{B_STORE}}
  }
}

// Delta_i = rowsum(dO_i ∘ O_i): one subgroup per row, each lane summing every SG-th element.
// grid (ceil(rows / SG), 1); lane-strided rows loop inside the workgroup.
@compute @workgroup_size(SG)
fn delta_direct(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r0 = (wid.x + wid.y * nwg.x) * SG;
  for (var t = 0u; t < SG; t++) {
    let r = min(r0 + t, P.stat_n - 1u);
    let i = r % P.Tq;
    let bh = r / P.Tq;
    let b = bh / P.H;
    let h = bh % P.H;
    let gb = P.g_off + b * P.g_bs + i * P.g_rs + h * DH + lid;
    let ob = b * P.o_bs + i * P.o_rs + h * DH + lid;
    var acc = 0.0;
    for (var d0 = 0u; d0 < P.dh; d0 += SG) { acc = fma(Gd[gb + d0], Od[ob + d0], acc); }
    let s = subgroupAdd(acc);
    if (lid == t && r0 + t < P.stat_n) { StatsW[2u * P.stat_n + r] = s; }
  }
}
