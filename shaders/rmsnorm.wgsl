// RMSNorm over rows and its gradient (CPU reference: rmsnormForward and
// rmsnormBackward in src/model/ops.ts).
//
//   forward:  rstd[r] = 1 / sqrt(mean_j x[r, j]² + eps),  y[r, j] = x[r, j] · rstd[r] · w[j]
//   backward: with xhat = x · rstd and g = dy · w,
//             dx[r, j] += rstd[r] · (g[r, j] − xhat[r, j] · mean_j(g · xhat))
//             dw[j]    += Σ_r dy[r, j] · xhat[r, j]
//
// Shapes, row-major: x, y, dx, dy (rows, dim); rstd (rows); w and dw (dim) at
// float offset wOffset of the flat parameter or gradient buffer.
// dx accumulates because it is the residual stream's gradient. dw is a sum over
// rows: one invocation per column walks every row, so neither atomics nor
// barriers are needed (SwiftShader switches coroutines at every barrier).
// Leaves out: a bias term; one invocation handles a whole row in forward and in
// the dx pass, which is slow for very wide rows.

struct Sizes {
  rows: u32,
  dim: u32,
  wOffset: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// rmsnorm_forward
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;

// rmsnorm_backward_dx
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> xIn: array<f32>;
@group(0) @binding(4) var<storage, read> wIn: array<f32>;
@group(0) @binding(5) var<storage, read> rstdIn: array<f32>;

// rmsnorm_backward_dw
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<storage, read> dyW: array<f32>;
@group(0) @binding(3) var<storage, read> xW: array<f32>;
@group(0) @binding(4) var<storage, read> rstdW: array<f32>;

override WG: u32 = 64;
// Matches RMS_EPS in src/model/ops.ts.
const EPS: f32 = 1e-5;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flatIndex(gid, nwg);
  if (r >= sizes.rows) {
    return;
  }
  let o = r * sizes.dim;
  var ss = 0.0;
  for (var j = 0u; j < sizes.dim; j++) {
    ss += x[o + j] * x[o + j];
  }
  let s = 1.0 / sqrt(ss / f32(sizes.dim) + EPS);
  rstd[r] = s;
  for (var j = 0u; j < sizes.dim; j++) {
    y[o + j] = x[o + j] * s * w[sizes.wOffset + j];
  }
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_dx(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flatIndex(gid, nwg);
  if (r >= sizes.rows) {
    return;
  }
  let o = r * sizes.dim;
  let s = rstdIn[r];
  var dot = 0.0;
  for (var j = 0u; j < sizes.dim; j++) {
    dot += dy[o + j] * wIn[sizes.wOffset + j] * xIn[o + j] * s;
  }
  dot /= f32(sizes.dim);
  for (var j = 0u; j < sizes.dim; j++) {
    let xhat = xIn[o + j] * s;
    dx[o + j] += s * (dy[o + j] * wIn[sizes.wOffset + j] - xhat * dot);
  }
}

// One invocation per column j.
@compute @workgroup_size(WG)
fn rmsnorm_backward_dw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flatIndex(gid, nwg);
  if (j >= sizes.dim) {
    return;
  }
  var acc = 0.0;
  var o = j;
  for (var r = 0u; r < sizes.rows; r++) {
    acc += dyW[o] * xW[o] * rstdW[r];
    o += sizes.dim;
  }
  dw[sizes.wOffset + j] += acc;
}
