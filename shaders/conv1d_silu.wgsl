// Causal depthwise 1-D convolution over time followed by SiLU, and its gradient
// (CPU reference: conv1dSiluForward and conv1dSiluBackward in src/model/ops.ts).
// It matches PyTorch's Conv1d(groups = d, padding = k − 1) truncated to l steps:
//
//   pre[b, t, c] = bias[c] + Σ_{j<k} w[c, j] · x[b, t − (k − 1) + j, c]   (x = 0 before t = 0)
//   u = SiLU(pre), or u = pre when the override SILU is 0 (H3's shift SSM)
//   backward, with g = du · SiLU'(pre), or g = du when SILU is 0:
//     dx[b, s, c]  = Σ_j g[b, s + (k − 1) − j, c] · w[c, j]   (overwrites)
//     dw[c, j]    += Σ_{b,t} g[b, t, c] · x[b, t − (k − 1) + j, c]
//     dbias[c]    += Σ_{b,t} g[b, t, c]
//
// Shapes, row-major: x, pre, u, du, dx (b, l, d); w and dw (d, 1, k) at float
// offset wOffset; bias and dbias (d) at biasOffset. w and bias are read from the
// flat parameter buffer, dw and dbias written to the flat gradient buffer.
// partials (b, d, k + 1): per-sequence sums of dw (taps 0..k−1) and dbias (k).
//
// conv1d_silu_forward and conv1d_silu_backward give each (sequence, channel)
// pair to one invocation, which walks time keeping the k weights and a window
// of the last k values in registers, so each element is loaded once.
// conv1d_silu_forward walks forwards.
// conv1d_silu_backward walks backwards: it computes each g once, writes dx and
// sums that sequence's dw and dbias into partials. conv1d_silu_backward_dw then
// sums partials over the batch, one invocation per (channel, tap). There are no
// barriers. The registers hold MAX_WIDTH taps, so k ≤ 8, the largest d_conv
// that src/model/config.ts accepts.
// NOTE: the walks are sequential over l with b · d invocations, like the scan.
// SwiftShader favours that (one load per element instead of k), while a
// hardware GPU with few sequences and long l would prefer more parallelism.
// Leaves out: a cached state for step-by-step decoding.

struct Sizes {
  b: u32,
  l: u32,
  d: u32,
  k: u32,
  wOffset: u32,
  biasOffset: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// conv1d_silu_forward
@group(0) @binding(1) var<storage, read_write> pre: array<f32>;
@group(0) @binding(2) var<storage, read_write> u: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> params: array<f32>;

// conv1d_silu_backward
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read> du: array<f32>;
@group(0) @binding(4) var<storage, read> preIn: array<f32>;
@group(0) @binding(5) var<storage, read> xIn: array<f32>;
@group(0) @binding(6) var<storage, read> paramsIn: array<f32>;

// conv1d_silu_backward_dw: dw and dbias live in the same gradient buffer.
@group(0) @binding(1) var<storage, read_write> grads: array<f32>;
@group(0) @binding(2) var<storage, read> partialsIn: array<f32>;

override WG: u32 = 64;
// 1: u = SiLU(pre); 0: u = pre.
override SILU: u32 = 1u;
// Most taps the walks keep in registers.
const MAX_WIDTH: u32 = 8u;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn activation(v: f32) -> f32 {
  if (SILU == 0u) {
    return v;
  }
  return v / (1.0 + exp(-v));
}

// SiLU'(v) = σ(v) · (1 + v · (1 − σ(v))), or 1 without SiLU.
fn activationGrad(v: f32) -> f32 {
  if (SILU == 0u) {
    return 1.0;
  }
  let s = 1.0 / (1.0 + exp(-v));
  return s * (1.0 + v * (1.0 - s));
}

// Offset of w[c, k − 1 − o], the weight of the tap that reads o steps back,
// clamped to tap 0 for o ≥ k; callers use 0 in place of those weights.
fn tapOffset(c: u32, o: u32) -> u32 {
  return sizes.wOffset + c * sizes.k + sizes.k - 1u - min(o, sizes.k - 1u);
}

fn forwardWeight(c: u32, o: u32) -> f32 {
  return select(0.0, params[tapOffset(c, o)], o < sizes.k);
}

fn backwardWeight(c: u32, o: u32) -> f32 {
  return select(0.0, paramsIn[tapOffset(c, o)], o < sizes.k);
}

// One invocation per (sequence, channel) pair, walking time forwards. With
// x_o = x[t − o] (0 before the start) and w_o = w[c, k − 1 − o]:
//   pre[t] = bias + Σ_o x_o · w_o.
@compute @workgroup_size(WG)
fn conv1d_silu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let pair = flatIndex(gid, nwg);
  let d = sizes.d;
  if (pair >= sizes.b * d) {
    return;
  }
  let bi = pair / d;
  let c = pair % d;

  let w0 = forwardWeight(c, 0u);
  let w1 = forwardWeight(c, 1u);
  let w2 = forwardWeight(c, 2u);
  let w3 = forwardWeight(c, 3u);
  let w4 = forwardWeight(c, 4u);
  let w5 = forwardWeight(c, 5u);
  let w6 = forwardWeight(c, 6u);
  let w7 = forwardWeight(c, 7u);
  let bias = params[sizes.biasOffset + c];
  var x1 = 0.0;
  var x2 = 0.0;
  var x3 = 0.0;
  var x4 = 0.0;
  var x5 = 0.0;
  var x6 = 0.0;
  var x7 = 0.0;

  let start = bi * sizes.l * d + c; // offset of (bi, 0, c)
  for (var t = 0u; t < sizes.l; t++) {
    let o = start + t * d;
    let x0 = x[o];
    let acc = bias + x0 * w0 + x1 * w1 + x2 * w2 + x3 * w3 + x4 * w4 + x5 * w5 + x6 * w6 + x7 * w7;
    pre[o] = acc;
    u[o] = activation(acc);
    x7 = x6;
    x6 = x5;
    x5 = x4;
    x4 = x3;
    x3 = x2;
    x2 = x1;
    x1 = x0;
  }
}

// One invocation per (sequence, channel) pair, walking time backwards. With
// g_o = g[s + o] (0 past the end) and w_o = w[c, k − 1 − o]:
//   dx[s] = Σ_o g_o · w_o   and   ∂L/∂w[c, k − 1 − o] = Σ_s x[s] · g_o.
@compute @workgroup_size(WG)
fn conv1d_silu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let pair = flatIndex(gid, nwg);
  let d = sizes.d;
  let l = sizes.l;
  if (pair >= sizes.b * d) {
    return;
  }
  let bi = pair / d;
  let c = pair % d;

  let w0 = backwardWeight(c, 0u);
  let w1 = backwardWeight(c, 1u);
  let w2 = backwardWeight(c, 2u);
  let w3 = backwardWeight(c, 3u);
  let w4 = backwardWeight(c, 4u);
  let w5 = backwardWeight(c, 5u);
  let w6 = backwardWeight(c, 6u);
  let w7 = backwardWeight(c, 7u);
  var g0 = 0.0;
  var g1 = 0.0;
  var g2 = 0.0;
  var g3 = 0.0;
  var g4 = 0.0;
  var g5 = 0.0;
  var g6 = 0.0;
  var g7 = 0.0;
  var dw0 = 0.0;
  var dw1 = 0.0;
  var dw2 = 0.0;
  var dw3 = 0.0;
  var dw4 = 0.0;
  var dw5 = 0.0;
  var dw6 = 0.0;
  var dw7 = 0.0;
  var dbias = 0.0;

  let start = bi * l * d + c; // offset of (bi, 0, c)
  for (var step = 0u; step < l; step++) {
    let o = start + (l - 1u - step) * d;
    g7 = g6;
    g6 = g5;
    g5 = g4;
    g4 = g3;
    g3 = g2;
    g2 = g1;
    g1 = g0;
    g0 = du[o] * activationGrad(preIn[o]);
    dx[o] = g0 * w0 + g1 * w1 + g2 * w2 + g3 * w3 + g4 * w4 + g5 * w5 + g6 * w6 + g7 * w7;

    let xv = xIn[o];
    dw0 += xv * g0;
    dw1 += xv * g1;
    dw2 += xv * g2;
    dw3 += xv * g3;
    dw4 += xv * g4;
    dw5 += xv * g5;
    dw6 += xv * g6;
    dw7 += xv * g7;
    dbias += g0;
  }

  // Tap j = k − 1 − o of this sequence's dw, then dbias.
  let byOffset = array<f32, MAX_WIDTH>(dw0, dw1, dw2, dw3, dw4, dw5, dw6, dw7);
  let out = pair * (sizes.k + 1u);
  for (var j = 0u; j < sizes.k; j++) {
    partials[out + j] = byOffset[sizes.k - 1u - j];
  }
  partials[out + sizes.k] = dbias;
}

// One invocation per (channel c, tap j) with j ≤ k, where j = k is the bias:
// adds the per-sequence partial sums over the batch.
@compute @workgroup_size(WG)
fn conv1d_silu_backward_dw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let width = sizes.k + 1u;
  let perSequence = sizes.d * width;
  if (i >= perSequence) {
    return;
  }
  var acc = 0.0;
  for (var bi = 0u; bi < sizes.b; bi++) {
    acc += partialsIn[bi * perSequence + i];
  }
  let c = i / width;
  let j = i % width;
  if (j == sizes.k) {
    grads[sizes.biasOffset + c] += acc;
  } else {
    grads[sizes.wOffset + c * sizes.k + j] += acc;
  }
}
