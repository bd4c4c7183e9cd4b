// One recurrent step of the Mamba mixer for one new token per batch row, the
// decoding form of conv1d_silu.wgsl and selective_scan.wgsl (CPU reference:
// conv1dSiluStep and selectiveScanStep in src/model/recurrent.ts, which
// MambaDecoder runs). The projections around them (in_proj, x_proj, dt_proj,
// out_proj) are matmul.wgsl with one row per batch row.
//
//   conv1d_silu_step:    window ← [window[1..k), x];  u = SiLU(bias + Σ_j w[j] · window[j])
//   selective_scan_step: Δ = softplus(deltaRaw + deltaBias),  A = −exp(A_log)
//                        h ← exp(Δ A) ⊙ h + Δ B u          (Euler step for B, as the reference)
//                        out = (C · h + D u) ⊙ SiLU(z)
//
// Shapes, row-major with the last index fastest:
//   x, u, deltaRaw, z, out   (b, d)
//   convState                (b, d, k): the last k inputs of each channel, oldest first
//   h                        (b, d, n)
//   xdbl                     (b, rowStride): x_proj's output rows [Δ low rank | B | C],
//                            B[s] at column bColumn + s and C[s] at cColumn + s
//   conv1d weight (d, 1, k) and bias (d), A_log (d, n), D (d) and deltaBias (d):
//   at float offsets of the parameter buffer
// convState and h are the whole recurrent state, and both are updated in place.
// Each invocation owns one (batch row, channel) pair, so the state of a step
// costs O(b · d · (k + n)) whatever the number of tokens before it.
// Leaves out: input-independent (LTI) B or C, and running without softplus, D or deltaBias.

struct Sizes {
  b: u32,
  d: u32,
  n: u32,
  k: u32,
  rowStride: u32,
  bColumn: u32,
  cColumn: u32,
  convWeightOffset: u32,
  convBiasOffset: u32,
  aLogOffset: u32,
  dOffset: u32,
  deltaBiasOffset: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// conv1d_silu_step
@group(0) @binding(1) var<storage, read_write> convState: array<f32>;
@group(0) @binding(2) var<storage, read_write> u: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> convParams: array<f32>;

// selective_scan_step
@group(0) @binding(1) var<storage, read_write> h: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read> uIn: array<f32>;
@group(0) @binding(5) var<storage, read> deltaRaw: array<f32>;
@group(0) @binding(6) var<storage, read> xdbl: array<f32>;
@group(0) @binding(7) var<storage, read> z: array<f32>;

override WG: u32 = 64;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn silu(v: f32) -> f32 {
  return v / (1.0 + exp(-v));
}

// log(1 + v) keeping the digits of small v: the factor v / (w − 1) with w = 1 + v
// cancels the rounding error of w. WGSL has no log1p built-in.
fn log1p(v: f32) -> f32 {
  let w = 1.0 + v;
  if (w == 1.0) {
    return v;
  }
  return log(w) * v / (w - 1.0);
}

// softplus as torch computes it: v itself above 20.
fn softplus(v: f32) -> f32 {
  if (v > 20.0) {
    return v;
  }
  return log1p(exp(v));
}

@compute @workgroup_size(WG)
fn conv1d_silu_step(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.b * sizes.d) {
    return;
  }
  let c = i % sizes.d;
  let k = sizes.k;
  let window = i * k;

  // Shift the window left by one and append the new input; the causal convolution is then a dot product.
  for (var j = 0u; j + 1u < k; j++) {
    convState[window + j] = convState[window + j + 1u];
  }
  convState[window + k - 1u] = x[i];

  var acc = convParams[sizes.convBiasOffset + c];
  for (var j = 0u; j < k; j++) {
    acc += convParams[sizes.convWeightOffset + c * k + j] * convState[window + j];
  }
  u[i] = silu(acc);
}

@compute @workgroup_size(WG)
fn selective_scan_step(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.b * sizes.d) {
    return;
  }
  let row = i / sizes.d;
  let c = i % sizes.d;
  let n = sizes.n;
  let dt = softplus(deltaRaw[i] + params[sizes.deltaBiasOffset + c]);
  let uv = uIn[i];
  let bBase = row * sizes.rowStride + sizes.bColumn;
  let cBase = row * sizes.rowStride + sizes.cColumn;

  var y = 0.0;
  for (var s = 0u; s < n; s++) {
    let a = -exp(params[sizes.aLogOffset + c * n + s]);
    let state = exp(dt * a) * h[i * n + s] + dt * xdbl[bBase + s] * uv;
    h[i * n + s] = state;
    y += state * xdbl[cBase + s];
  }
  y += params[sizes.dOffset + c] * uv;
  out[i] = y * silu(z[i]);
}
