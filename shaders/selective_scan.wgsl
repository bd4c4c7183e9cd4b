// Selective scan of Mamba (Gu and Dao, 2023), the sequential form of
// selective_scan_ref in state-spaces/mamba, and its gradient (CPU reference:
// selectiveScanForward and selectiveScanBackward in src/model/ops.ts).
//
//   Δ_t = softplus(deltaRaw_t + deltaBias),  A = −exp(A_log)
//   h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t          (Euler step for B, as the reference)
//   y_t = C_t · h_t + D ⊙ u_t
//
// The ablations of the model switch parts off through the uniforms:
//   variableDelta = 0: Δ = softplus(deltaBias), one value per channel; deltaRaw is not read
//   softplus = 0:      Δ = deltaRaw_t + deltaBias
//   variableB = 0:     B is a (d, n) parameter at bOffset, the same at every step (LTI);
//   variableC = 0:     likewise for C at cOffset
//
// Shapes, row-major with the last index fastest:
//   u, deltaRaw, y, delta, dy, du, dDelta     (b, l, d)
//   xdbl, dXdbl   (b, l, rowStride): x_proj's output rows [Δ low rank | B | C];
//                 B_t[s] sits at column bColumn + s and C_t[s] at cColumn + s
//                 when they are input-dependent
//   states        (b, l, d, n): every h_t, kept for probes and for backward
//   A_log (d, n), D (d), deltaBias (d), fixed B and C (d, n): at float offsets
//                 of the parameter buffer
//   paramPartial  (3, b, d, n): per-batch sums of ∂L/∂A_log, of ∂L/∂B when B is
//                 fixed and of ∂L/∂C when C is fixed, reduced over b afterwards
//
// The gate y ⊙ SiLU(z) of the reference is a separate kernel (silu_gate.wgsl),
// so that every entry point here fits in eight storage buffers.
// Forward and the first backward pass give one (batch, channel) pair to each
// invocation, which walks time with the n ≤ 64 states in a private array.
// ∂L/∂A_log and fixed B and C need ∂L/∂h of each state, so
// selective_scan_backward_bc gives one (batch, channel, state) triple to each
// invocation and recomputes that state's ∂L/∂h over time, writing each step's
// term of ∂L/∂B to a (b, l, d, n) scratch buffer. Input-dependent B and C get
// sums over channels, so selective_scan_backward_bc_sum gives one (batch, step,
// state) triple to each invocation and sums over channels. No pass uses atomics.
// Leaves out: the chunked parallel scan over length, recomputing states in
// backward instead of storing them, and running without D or deltaBias.

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
  variableDelta: u32,
  softplus: u32,
  variableB: u32,
  variableC: u32,
  bOffset: u32,
  cOffset: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// Inputs of every entry point.
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read> u: array<f32>;
@group(0) @binding(6) var<storage, read> deltaRaw: array<f32>;
@group(0) @binding(7) var<storage, read> xdbl: array<f32>;

// selective_scan_forward
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> deltaOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> states: array<f32>;

// selective_scan_backward
@group(0) @binding(1) var<storage, read_write> du: array<f32>;
@group(0) @binding(2) var<storage, read_write> dDelta: array<f32>;
@group(0) @binding(3) var<storage, read> statesIn: array<f32>;
@group(0) @binding(8) var<storage, read> dy: array<f32>;

// selective_scan_backward_bc: statesIn and dy as above, Δ after bias and softplus
// as the forward pass wrote it (deltaOut) in place of deltaRaw, so that the n
// invocations of a channel do not each recompute the softplus of every step, and
@group(0) @binding(1) var<storage, read_write> dBTerms: array<f32>;
@group(0) @binding(2) var<storage, read_write> paramPartial: array<f32>;
@group(0) @binding(6) var<storage, read> deltaIn: array<f32>;

// selective_scan_backward_bc_sum: statesIn and dy as above, and
@group(0) @binding(1) var<storage, read_write> dXdbl: array<f32>;
@group(0) @binding(2) var<storage, read> dBTermsIn: array<f32>;

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

// Δ before softplus at token offset o of channel c: deltaRaw + deltaBias, or the bias alone.
fn rawDelta(o: u32, c: u32) -> f32 {
  var raw = params[sizes.deltaBiasOffset + c];
  if (sizes.variableDelta != 0u) {
    raw += deltaRaw[o];
  }
  return raw;
}

fn deltaOf(raw: f32) -> f32 {
  if (sizes.softplus != 0u) {
    return softplus(raw);
  }
  return raw;
}

// ∂Δ/∂raw: σ(raw) with softplus, also above the threshold as in the CPU reference; 1 without.
fn deltaGrad(raw: f32) -> f32 {
  if (sizes.softplus != 0u) {
    return sigmoid(raw);
  }
  return 1.0;
}

// B_t[s] of channel c, from the xdbl row of step t or from the fixed (d, n) parameter.
fn loadB(row: u32, c: u32, s: u32) -> f32 {
  if (sizes.variableB != 0u) {
    return xdbl[row + sizes.bColumn + s];
  }
  return params[sizes.bOffset + c * sizes.n + s];
}

fn loadC(row: u32, c: u32, s: u32) -> f32 {
  if (sizes.variableC != 0u) {
    return xdbl[row + sizes.cColumn + s];
  }
  return params[sizes.cOffset + c * sizes.n + s];
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
  let skip = params[sizes.dOffset + c];

  for (var t = 0u; t < sizes.l; t++) {
    let o = (bi * sizes.l + t) * d + c;
    let row = (bi * sizes.l + t) * sizes.rowStride;
    let dt = deltaOf(rawDelta(o, c));
    let uv = u[o];
    var acc = 0.0;
    for (var s = 0u; s < n; s++) {
      h[s] = exp(dt * a[s]) * h[s] + dt * loadB(row, c, s) * uv;
      acc += h[s] * loadC(row, c, s);
      states[o * n + s] = h[s];
    }
    y[o] = acc + skip * uv;
    deltaOut[o] = dt;
  }
}

// Reverse pass per (batch, channel): ∂L/∂h_t = C_t dy_t + exp(Δ_{t+1} A) ∂L/∂h_{t+1},
// giving du (overwritten) and dDelta, the gradient of Δ before bias and softplus
// (overwritten; with a fixed Δ it is what the bias's gradient sums).
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
    a[s] = -exp(params[sizes.aLogOffset + c * n + s]);
    dh[s] = 0.0;
  }
  let skip = params[sizes.dOffset + c];

  for (var step = 0u; step < sizes.l; step++) {
    let t = sizes.l - 1u - step;
    let o = (bi * sizes.l + t) * d + c;
    let row = (bi * sizes.l + t) * sizes.rowStride;
    let raw = rawDelta(o, c);
    let dt = deltaOf(raw);
    let uv = u[o];
    let dyv = dy[o];

    var duAcc = dyv * skip;
    var dDt = 0.0;
    for (var s = 0u; s < n; s++) {
      var hPrev = 0.0;
      if (t > 0u) {
        hPrev = statesIn[(o - d) * n + s];
      }
      let decay = exp(dt * a[s]);
      let bv = loadB(row, c, s);
      dh[s] += dyv * loadC(row, c, s);
      dDt += dh[s] * (a[s] * decay * hPrev + bv * uv);
      duAcc += dh[s] * dt * bv;
      dh[s] *= decay;
    }
    dDelta[o] = dDt * deltaGrad(raw);
    du[o] = duAcc;
  }
}

// Reverse pass per (batch, channel, state s): ∂L/∂h of that state over time. Writes
// the per-batch sums over time of ∂L/∂A_log and of ∂L/∂B and ∂L/∂C of fixed B and C
// to paramPartial (overwritten; zeros where B and C are input-dependent), and, for
// input-dependent B, each step's term ∂L/∂h_t Δ_t u_t to dBTerms (overwritten).
@compute @workgroup_size(WG)
fn selective_scan_backward_bc(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let triple = flatIndex(gid, nwg);
  let d = sizes.d;
  let n = sizes.n;
  if (triple >= sizes.b * d * n) {
    return;
  }
  let s = triple % n;
  let c = (triple / n) % d;
  let bi = triple / (n * d);
  let block = sizes.b * d * n;

  let a = -exp(params[sizes.aLogOffset + c * n + s]);
  var dh = 0.0;
  var dA = 0.0;
  var dBFixed = 0.0;
  var dCFixed = 0.0;
  for (var step = 0u; step < sizes.l; step++) {
    let t = sizes.l - 1u - step;
    let o = (bi * sizes.l + t) * d + c;
    let row = (bi * sizes.l + t) * sizes.rowStride;
    let dt = deltaIn[o];
    let dyv = dy[o];
    var hPrev = 0.0;
    if (t > 0u) {
      hPrev = statesIn[(o - d) * n + s];
    }
    let decay = exp(dt * a);
    dh += dyv * loadC(row, c, s);
    dA += dh * dt * decay * hPrev;
    let dB = dh * dt * u[o];
    if (sizes.variableB != 0u) {
      dBTerms[o * n + s] = dB;
    } else {
      dBFixed += dB;
    }
    if (sizes.variableC == 0u) {
      dCFixed += dyv * statesIn[o * n + s];
    }
    dh *= decay;
  }
  // A = −exp(A_log), so ∂A/∂A_log = A.
  let at = (bi * d + c) * n + s;
  paramPartial[at] = dA * a;
  paramPartial[block + at] = dBFixed;
  paramPartial[2u * block + at] = dCFixed;
}

// Per (batch, step, state s): the sums over channels that give input-dependent B and
// C their gradients, in their columns of dXdbl (overwritten): ∂L/∂B_t[s] sums the terms
// that selective_scan_backward_bc wrote, and ∂L/∂C_t[s] = Σ_c dy_t[c] h_t[c, s].
@compute @workgroup_size(WG)
fn selective_scan_backward_bc_sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let triple = flatIndex(gid, nwg);
  let d = sizes.d;
  let n = sizes.n;
  if (triple >= sizes.b * sizes.l * n) {
    return;
  }
  let s = triple % n;
  let token = triple / n;
  let row = token * sizes.rowStride;
  var dB = 0.0;
  var dC = 0.0;
  for (var c = 0u; c < d; c++) {
    let o = token * d + c;
    if (sizes.variableB != 0u) {
      dB += dBTermsIn[o * n + s];
    }
    if (sizes.variableC != 0u) {
      dC += dy[o] * statesIn[o * n + s];
    }
  }
  if (sizes.variableB != 0u) {
    dXdbl[row + sizes.bColumn + s] = dB;
  }
  if (sizes.variableC != 0u) {
    dXdbl[row + sizes.cColumn + s] = dC;
  }
}
