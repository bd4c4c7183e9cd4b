// The standard, unfused selective scan, as a framework without a fused kernel
// runs it: the baseline that the scan benchmark (src/bench/scanBench.ts)
// measures the fused kernel against. It writes the discretised Ā = exp(Δ A)
// and B̄u = Δ B u to global memory as (b, l, d, n) tensors, scans over them
// with one invocation per (batch, channel, state), and contracts the states
// with C. Backward is the chain rule of the same steps, each one a kernel that
// reads and writes (b, l, d, n) tensors, as an autograd framework runs it.
// CPU reference: selectiveScanForward and selectiveScanBackward in src/model/ops.ts.
//
//   Δ_t = softplus(deltaRaw_t + deltaBias),  A = −exp(A_log)
//   Ā_t = exp(Δ_t A),  B̄u_t = Δ_t B_t u_t                    (Euler step for B, as the reference)
//   h_t = Ā_t ⊙ h_{t−1} + B̄u_t,  y_t = C_t · h_t + D ⊙ u_t,  out_t = y_t ⊙ SiLU(z_t)
//
// Shapes, row-major with the last index fastest:
//   u, deltaRaw, z, out, yPre, dout, dyPre       (b, l, d); yPre is y before the gate
//   xdbl  (b, l, rowStride): x_proj's output rows, B_t[s] at column bColumn + s
//         and C_t[s] at cColumn + s
//   A_log (d, n), D (d), deltaBias (d): at float offsets of the parameter buffer
//   decay (b, l, d, n): Ā, which backward overwrites with ∂L/∂(Δ A) = ∂L/∂Ā ⊙ Ā
//   states (b, l, d, n): B̄u, which the scan overwrites with h
//   dStates (b, l, d, n): ∂L/∂h from the output, which the reverse scan
//         overwrites with the total ∂L/∂h_t
//   tokenGrads: du, dDelta (of deltaRaw) and dz, each (b, l, d), at offsets
//   workspace: bcPartial (1, b, l, 2n) = [∂L/∂B | ∂L/∂C] and param (b, d, n + 2)
//         = [∂L/∂A_log | ∂L/∂D | ∂L/∂deltaBias] per batch row, at offsets, which
//         selective_scan_fused_reduce adds up as it does for the fused scan.
//
// Leaves out: input-independent (LTI) B or C, and running without softplus,
// D, deltaBias or the gate. It serves the benchmark and its tests, not training.

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
  duOffset: u32,
  dDeltaOffset: u32,
  dzOffset: u32,
  bcOffset: u32,
  paramOffset: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// selective_scan_materializing_discretize
@group(0) @binding(1) var<storage, read_write> decayOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> driveOut: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read> u: array<f32>;
@group(0) @binding(5) var<storage, read> deltaRaw: array<f32>;
@group(0) @binding(6) var<storage, read> xdbl: array<f32>;

// selective_scan_materializing_scan
@group(0) @binding(1) var<storage, read_write> states: array<f32>;
@group(0) @binding(2) var<storage, read> decayIn: array<f32>;

// selective_scan_materializing_output
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> yPre: array<f32>;
@group(0) @binding(3) var<storage, read> statesIn: array<f32>;
@group(0) @binding(4) var<storage, read> xdblOut: array<f32>;
@group(0) @binding(5) var<storage, read> uOut: array<f32>;
@group(0) @binding(6) var<storage, read> paramsOut: array<f32>;
@group(0) @binding(7) var<storage, read> z: array<f32>;

// selective_scan_materializing_backward_gate
@group(0) @binding(1) var<storage, read_write> tokenGrads: array<f32>;
@group(0) @binding(2) var<storage, read_write> dyPre: array<f32>;
@group(0) @binding(3) var<storage, read_write> dStates: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> yPreIn: array<f32>;
@group(0) @binding(6) var<storage, read> zIn: array<f32>;
@group(0) @binding(7) var<storage, read> xdblGate: array<f32>;

// selective_scan_materializing_backward_scan
@group(0) @binding(1) var<storage, read_write> dStatesScan: array<f32>;
@group(0) @binding(2) var<storage, read_write> decayGrad: array<f32>;
@group(0) @binding(3) var<storage, read> statesScan: array<f32>;

// selective_scan_materializing_backward_bc
@group(0) @binding(1) var<storage, read_write> workspace: array<f32>;
@group(0) @binding(2) var<storage, read> dyPreBc: array<f32>;
@group(0) @binding(3) var<storage, read> statesBc: array<f32>;
@group(0) @binding(4) var<storage, read> dStatesBc: array<f32>;
@group(0) @binding(5) var<storage, read> uBc: array<f32>;
@group(0) @binding(6) var<storage, read> deltaRawBc: array<f32>;
@group(0) @binding(7) var<storage, read> paramsBc: array<f32>;

// selective_scan_materializing_backward_delta
@group(0) @binding(1) var<storage, read_write> tokenGradsDelta: array<f32>;
@group(0) @binding(2) var<storage, read> decayGradIn: array<f32>;
@group(0) @binding(3) var<storage, read> dStatesDelta: array<f32>;
@group(0) @binding(4) var<storage, read> dyPreDelta: array<f32>;
@group(0) @binding(5) var<storage, read> uDelta: array<f32>;
@group(0) @binding(6) var<storage, read> deltaRawDelta: array<f32>;
@group(0) @binding(7) var<storage, read> xdblDelta: array<f32>;
@group(0) @binding(8) var<storage, read> paramsDelta: array<f32>;

// selective_scan_materializing_backward_params
@group(0) @binding(1) var<storage, read_write> workspaceParams: array<f32>;
@group(0) @binding(2) var<storage, read> tokenGradsIn: array<f32>;
@group(0) @binding(3) var<storage, read> decayGradParams: array<f32>;
@group(0) @binding(4) var<storage, read> dyPreParams: array<f32>;
@group(0) @binding(5) var<storage, read> uParams: array<f32>;
@group(0) @binding(6) var<storage, read> deltaRawParams: array<f32>;
@group(0) @binding(7) var<storage, read> paramsParams: array<f32>;

override WG: u32 = 64;

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

fn silu(v: f32) -> f32 {
  return v * sigmoid(v);
}

// One invocation per element of (b, l, d, n).
@compute @workgroup_size(WG)
fn selective_scan_materializing_discretize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let n = sizes.n;
  if (i >= sizes.b * sizes.l * sizes.d * n) {
    return;
  }
  let o = i / n;
  let s = i % n;
  let c = o % sizes.d;
  let row = o / sizes.d;
  let dt = softplus(deltaRaw[o] + params[sizes.deltaBiasOffset + c]);
  let a = -exp(params[sizes.aLogOffset + c * n + s]);
  decayOut[i] = exp(dt * a);
  driveOut[i] = dt * xdbl[row * sizes.rowStride + sizes.bColumn + s] * u[o];
}

// One invocation per (batch, channel, state), walking time: h_t = Ā_t h_{t−1} + B̄u_t in place.
@compute @workgroup_size(WG)
fn selective_scan_materializing_scan(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let channelStates = sizes.d * sizes.n;
  if (i >= sizes.b * channelStates) {
    return;
  }
  let bi = i / channelStates;
  let cs = i % channelStates;
  var h = 0.0;
  for (var t = 0u; t < sizes.l; t++) {
    let e = (bi * sizes.l + t) * channelStates + cs;
    h = decayIn[e] * h + states[e];
    states[e] = h;
  }
}

// One invocation per (batch, step, channel).
@compute @workgroup_size(WG)
fn selective_scan_materializing_output(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flatIndex(gid, nwg);
  let n = sizes.n;
  if (o >= sizes.b * sizes.l * sizes.d) {
    return;
  }
  let c = o % sizes.d;
  let row = (o / sizes.d) * sizes.rowStride;
  var y = paramsOut[sizes.dOffset + c] * uOut[o];
  for (var s = 0u; s < n; s++) {
    y += xdblOut[row + sizes.cColumn + s] * statesIn[o * n + s];
  }
  yPre[o] = y;
  out[o] = y * silu(z[o]);
}

// One invocation per (batch, step, channel): dz, the ungated dy and ∂L/∂h_t = C_t dy_t from the output.
@compute @workgroup_size(WG)
fn selective_scan_materializing_backward_gate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flatIndex(gid, nwg);
  let n = sizes.n;
  if (o >= sizes.b * sizes.l * sizes.d) {
    return;
  }
  let row = (o / sizes.d) * sizes.rowStride;
  let zv = zIn[o];
  let sg = sigmoid(zv);
  let grad = dout[o];
  // d SiLU / dz = σ(z)(1 + z(1 − σ(z))).
  tokenGrads[sizes.dzOffset + o] = grad * yPreIn[o] * sg * (1.0 + zv * (1.0 - sg));
  let dy = grad * zv * sg;
  dyPre[o] = dy;
  for (var s = 0u; s < n; s++) {
    dStates[o * n + s] = dy * xdblGate[row + sizes.cColumn + s];
  }
}

// One invocation per (batch, channel, state), walking time backwards:
// ∂L/∂h_t += Ā_{t+1} ∂L/∂h_{t+1} in place, and Ā_t is replaced by ∂L/∂(Δ_t A) = ∂L/∂h_t h_{t−1} Ā_t.
@compute @workgroup_size(WG)
fn selective_scan_materializing_backward_scan(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let channelStates = sizes.d * sizes.n;
  if (i >= sizes.b * channelStates) {
    return;
  }
  let bi = i / channelStates;
  let cs = i % channelStates;
  var grad = 0.0;
  var nextDecay = 0.0;
  for (var step = 0u; step < sizes.l; step++) {
    let t = sizes.l - 1u - step;
    let e = (bi * sizes.l + t) * channelStates + cs;
    grad = dStatesScan[e] + nextDecay * grad;
    dStatesScan[e] = grad;
    nextDecay = decayGrad[e];
    var hPrev = 0.0;
    if (t > 0u) {
      hPrev = statesScan[e - channelStates];
    }
    decayGrad[e] = grad * hPrev * nextDecay;
  }
}

// One invocation per (batch, step, j < 2n): ∂L/∂B_t[j] = Σ_c ∂L/∂h_t Δ_t u_t, and
// ∂L/∂C_t[j − n] = Σ_c dy_t h_t, summed over the channels in a loop.
@compute @workgroup_size(WG)
fn selective_scan_materializing_backward_bc(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let n = sizes.n;
  let n2 = 2u * n;
  if (i >= sizes.b * sizes.l * n2) {
    return;
  }
  let row = i / n2;
  let j = i % n2;
  var total = 0.0;
  for (var c = 0u; c < sizes.d; c++) {
    let o = row * sizes.d + c;
    if (j < n) {
      let dt = softplus(deltaRawBc[o] + paramsBc[sizes.deltaBiasOffset + c]);
      total += dStatesBc[o * n + j] * dt * uBc[o];
    } else {
      total += dyPreBc[o] * statesBc[o * n + j - n];
    }
  }
  workspace[sizes.bcOffset + i] = total;
}

// One invocation per (batch, step, channel): du and the gradient of deltaRaw.
@compute @workgroup_size(WG)
fn selective_scan_materializing_backward_delta(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flatIndex(gid, nwg);
  let n = sizes.n;
  if (o >= sizes.b * sizes.l * sizes.d) {
    return;
  }
  let c = o % sizes.d;
  let row = (o / sizes.d) * sizes.rowStride;
  let raw = deltaRawDelta[o] + paramsDelta[sizes.deltaBiasOffset + c];
  let dt = softplus(raw);
  let uv = uDelta[o];
  var du = dyPreDelta[o] * paramsDelta[sizes.dOffset + c];
  var dDt = 0.0;
  for (var s = 0u; s < n; s++) {
    let a = -exp(paramsDelta[sizes.aLogOffset + c * n + s]);
    let bv = xdblDelta[row + sizes.bColumn + s];
    let grad = dStatesDelta[o * n + s];
    dDt += decayGradIn[o * n + s] * a + grad * bv * uv;
    du += grad * dt * bv;
  }
  tokenGradsDelta[sizes.duOffset + o] = du;
  // d softplus(raw) / d raw = σ(raw), also above the threshold, as in the CPU reference.
  tokenGradsDelta[sizes.dDeltaOffset + o] = dDt * sigmoid(raw);
}

// One invocation per (batch, channel, j < n + 2), summing over time: ∂L/∂A_log
// for j < n, ∂L/∂D for j = n and ∂L/∂deltaBias for j = n + 1.
@compute @workgroup_size(WG)
fn selective_scan_materializing_backward_params(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let n = sizes.n;
  let width = n + 2u;
  if (i >= sizes.b * sizes.d * width) {
    return;
  }
  let bi = i / (sizes.d * width);
  let c = (i / width) % sizes.d;
  let j = i % width;
  var total = 0.0;
  for (var t = 0u; t < sizes.l; t++) {
    let o = (bi * sizes.l + t) * sizes.d + c;
    if (j < n) {
      let dt = softplus(deltaRawParams[o] + paramsParams[sizes.deltaBiasOffset + c]);
      total += decayGradParams[o * n + j] * dt;
    } else if (j == n) {
      total += dyPreParams[o] * uParams[o];
    } else {
      total += tokenGradsIn[sizes.dDeltaOffset + o];
    }
  }
  if (j < n) {
    // ∂L/∂A = Σ_t ∂L/∂(Δ_t A) Δ_t, and A = −exp(A_log), so ∂A/∂A_log = A.
    total *= -exp(paramsParams[sizes.aLogOffset + c * n + j]);
  }
  workspaceParams[sizes.paramOffset + i] = total;
}
