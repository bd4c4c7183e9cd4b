// Selective scan of Mamba (Gu and Dao, 2023), the sequential form of
// selective_scan_ref in state-spaces/mamba, and its gradient (CPU reference:
// selectiveScanForward and selectiveScanBackward in src/model/ops.ts).
//
//   Δ_t = softplus(deltaRaw_t + deltaBias),  A = −exp(A_log)
//   h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t          (Euler step for B, as the reference)
//   y_t = C_t · h_t + D ⊙ u_t
//
// Shapes, row-major with the last index fastest:
//   u, deltaRaw, y, delta, dy, du, dDelta     (b, l, d)
//   xdbl, dXdbl   (b, l, rowStride): x_proj's output rows [Δ low rank | B | C];
//                 B_t[s] sits at column bColumn + s and C_t[s] at cColumn + s
//   states        (b, l, d, n): every h_t, kept for probes and for backward
//   A_log (d, n), D (d), deltaBias (d): at float offsets of the parameter buffer
//   dALogPartial  (b, d, n): per-batch sums of ∂L/∂A_log, reduced over b afterwards
//
// The gate y ⊙ SiLU(z) of the reference is a separate kernel (silu_gate.wgsl),
// so that every entry point here fits in eight storage buffers.
// Forward and the first backward pass give one (batch, channel) pair to each
// invocation, which walks time with the n ≤ 64 states in a private array.
// ∂L/∂B and ∂L/∂C are sums over channels, so selective_scan_backward_bc gives one
// (batch, state) pair to each invocation instead and recomputes ∂L/∂h of each
// channel in turn. Neither pass uses atomics.
// NOTE: selective_scan_backward_bc runs only b · n invocations, each looping over
// d · l steps, so it is likely the slowest kernel at large d_inner; not measured.
// Leaves out: the chunked parallel scan over length, recomputing states in
// backward instead of storing them, input-independent (LTI) B or C, and running
// without softplus, D or deltaBias.

struct Sizes {
  b: u32,
  l: u32,
  d: u32,
  n: u32,
  rowStride: u32,
  bColumn: u32,
  cColumn: u32,
  aLogOffset: u32,
  dOffset: u32,
  deltaBiasOffset: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// selective_scan_forward
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> deltaOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> states: array<f32>;
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read> u: array<f32>;
@group(0) @binding(6) var<storage, read> deltaRaw: array<f32>;
@group(0) @binding(7) var<storage, read> xdbl: array<f32>;

// selective_scan_backward
@group(0) @binding(1) var<storage, read_write> du: array<f32>;
@group(0) @binding(2) var<storage, read_write> dDelta: array<f32>;
@group(0) @binding(3) var<storage, read> statesIn: array<f32>;
@group(0) @binding(4) var<storage, read> paramsIn: array<f32>;
@group(0) @binding(5) var<storage, read> uIn: array<f32>;
@group(0) @binding(6) var<storage, read> deltaRawIn: array<f32>;
@group(0) @binding(7) var<storage, read> xdblIn: array<f32>;
@group(0) @binding(8) var<storage, read> dy: array<f32>;

// selective_scan_backward_bc
@group(0) @binding(1) var<storage, read_write> dXdbl: array<f32>;
@group(0) @binding(2) var<storage, read_write> dALogPartial: array<f32>;
@group(0) @binding(3) var<storage, read> statesBc: array<f32>;
@group(0) @binding(4) var<storage, read> paramsBc: array<f32>;
@group(0) @binding(5) var<storage, read> uBc: array<f32>;
@group(0) @binding(6) var<storage, read> deltaRawBc: array<f32>;
@group(0) @binding(7) var<storage, read> xdblBc: array<f32>;
@group(0) @binding(8) var<storage, read> dyBc: array<f32>;

override WG: u32 = 64;
// Largest d_state the private arrays hold; MODEL_RULES.d_state.max in src/model/config.ts.
const MAX_STATE: u32 = 64;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// log(1 + v) without losing the digits of small v: the factor v / (w − 1) with
// w = 1 + v cancels the rounding error of w, which plain log(1 + v) keeps.
fn log1p(v: f32) -> f32 {
  let w = 1.0 + v;
  if (w == 1.0) {
    return v;
  }
  return log(w) * v / (w - 1.0);
}

// As torch computes it: the identity above 20.
fn softplus(v: f32) -> f32 {
  if (v > 20.0) {
    return v;
  }
  return log1p(exp(v));
}

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

@compute @workgroup_size(WG)
fn selective_scan_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let pair = flatIndex(gid, nwg);
  let d = sizes.d;
  let n = sizes.n;
  if (pair >= sizes.b * d) {
    return;
  }
  let bi = pair / d;
  let c = pair % d;

  var a: array<f32, MAX_STATE>;
  var h: array<f32, MAX_STATE>;
  for (var s = 0u; s < n; s++) {
    a[s] = -exp(params[sizes.aLogOffset + c * n + s]);
    h[s] = 0.0;
  }
  let bias = params[sizes.deltaBiasOffset + c];
  let skip = params[sizes.dOffset + c];

  for (var t = 0u; t < sizes.l; t++) {
    let o = (bi * sizes.l + t) * d + c;
    let row = (bi * sizes.l + t) * sizes.rowStride;
    let dt = softplus(deltaRaw[o] + bias);
    let uv = u[o];
    var acc = 0.0;
    for (var s = 0u; s < n; s++) {
      h[s] = exp(dt * a[s]) * h[s] + dt * xdbl[row + sizes.bColumn + s] * uv;
      acc += h[s] * xdbl[row + sizes.cColumn + s];
      states[o * n + s] = h[s];
    }
    y[o] = acc + skip * uv;
    deltaOut[o] = dt;
  }
}

// Reverse pass per (batch, channel): ∂L/∂h_t = C_t dy_t + exp(Δ_{t+1} A) ∂L/∂h_{t+1},
// giving du (overwritten) and dDelta, the gradient of deltaRaw (overwritten).
@compute @workgroup_size(WG)
fn selective_scan_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let pair = flatIndex(gid, nwg);
  let d = sizes.d;
  let n = sizes.n;
  if (pair >= sizes.b * d) {
    return;
  }
  let bi = pair / d;
  let c = pair % d;

  var a: array<f32, MAX_STATE>;
  var dh: array<f32, MAX_STATE>;
  for (var s = 0u; s < n; s++) {
    a[s] = -exp(paramsIn[sizes.aLogOffset + c * n + s]);
    dh[s] = 0.0;
  }
  let bias = paramsIn[sizes.deltaBiasOffset + c];
  let skip = paramsIn[sizes.dOffset + c];

  for (var step = 0u; step < sizes.l; step++) {
    let t = sizes.l - 1u - step;
    let o = (bi * sizes.l + t) * d + c;
    let row = (bi * sizes.l + t) * sizes.rowStride;
    let raw = deltaRawIn[o] + bias;
    let dt = softplus(raw);
    let uv = uIn[o];
    let dyv = dy[o];

    var duAcc = dyv * skip;
    var dDt = 0.0;
    for (var s = 0u; s < n; s++) {
      var hPrev = 0.0;
      if (t > 0u) {
        hPrev = statesIn[(o - d) * n + s];
      }
      let decay = exp(dt * a[s]);
      let bv = xdblIn[row + sizes.bColumn + s];
      dh[s] += dyv * xdblIn[row + sizes.cColumn + s];
      dDt += dh[s] * (a[s] * decay * hPrev + bv * uv);
      duAcc += dh[s] * dt * bv;
      dh[s] *= decay;
    }
    // d softplus(raw) / d raw = σ(raw), also above the threshold, as in the CPU reference.
    dDelta[o] = dDt * sigmoid(raw);
    du[o] = duAcc;
  }
}

// Reverse pass per (batch, state s), looping over channels: writes ∂L/∂B and ∂L/∂C
// into their columns of dXdbl (overwriting them) and the per-batch ∂L/∂A_log.
@compute @workgroup_size(WG)
fn selective_scan_backward_bc(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let pair = flatIndex(gid, nwg);
  let d = sizes.d;
  let n = sizes.n;
  if (pair >= sizes.b * n) {
    return;
  }
  let bi = pair / n;
  let s = pair % n;

  for (var c = 0u; c < d; c++) {
    let a = -exp(paramsBc[sizes.aLogOffset + c * n + s]);
    let bias = paramsBc[sizes.deltaBiasOffset + c];
    var dh = 0.0;
    var dA = 0.0;
    for (var step = 0u; step < sizes.l; step++) {
      let t = sizes.l - 1u - step;
      let o = (bi * sizes.l + t) * d + c;
      let row = (bi * sizes.l + t) * sizes.rowStride;
      let dt = softplus(deltaRawBc[o] + bias);
      let dyv = dyBc[o];
      var hPrev = 0.0;
      if (t > 0u) {
        hPrev = statesBc[(o - d) * n + s];
      }
      let decay = exp(dt * a);
      dh += dyv * xdblBc[row + sizes.cColumn + s];
      dA += dh * dt * decay * hPrev;

      // Channel 0 starts the sums over channels.
      let dC = dyv * statesBc[o * n + s];
      let dB = dh * dt * uBc[o];
      if (c == 0u) {
        dXdbl[row + sizes.cColumn + s] = dC;
        dXdbl[row + sizes.bColumn + s] = dB;
      } else {
        dXdbl[row + sizes.cColumn + s] += dC;
        dXdbl[row + sizes.bColumn + s] += dB;
      }
      dh *= decay;
    }
    // A = −exp(A_log), so ∂A/∂A_log = A.
    dALogPartial[(bi * d + c) * n + s] = dA * a;
  }
}
