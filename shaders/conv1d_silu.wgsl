// Causal depthwise 1-D convolution over time followed by SiLU, and its gradient
// (CPU reference: conv1dSiluForward and conv1dSiluBackward in src/model/ops.ts).
// It matches PyTorch's Conv1d(groups = d, padding = k − 1) truncated to l steps:
//
//   pre[b, t, c] = bias[c] + Σ_{j<k} w[c, j] · x[b, t − (k − 1) + j, c]   (x = 0 before t = 0)
//   u = SiLU(pre)
//   backward, with g = du · SiLU'(pre):
//     dx[b, s, c]  = Σ_j g[b, s + (k − 1) − j, c] · w[c, j]   (overwrites)
//     dw[c, j]    += Σ_{b,t} g[b, t, c] · x[b, t − (k − 1) + j, c]
//     dbias[c]    += Σ_{b,t} g[b, t, c]
//
// Shapes, row-major: x, pre, u, du, dx (b, l, d); w and dw (d, 1, k) at float
// offset wOffset; bias and dbias (d) at biasOffset. w and bias are read from the
// flat parameter buffer, dw and dbias written to the flat gradient buffer.
// dw and dbias are sums over b · l rows: one workgroup per (c, j) output, with
// j = k standing for the bias, adds strided partial sums in workgroup memory.
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

// conv1d_silu_backward_dx
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> du: array<f32>;
@group(0) @binding(3) var<storage, read> preIn: array<f32>;
@group(0) @binding(4) var<storage, read> paramsIn: array<f32>;

// conv1d_silu_backward_dw: dw and dbias live in the same gradient buffer.
@group(0) @binding(1) var<storage, read_write> grads: array<f32>;
@group(0) @binding(2) var<storage, read> duW: array<f32>;
@group(0) @binding(3) var<storage, read> preW: array<f32>;
@group(0) @binding(4) var<storage, read> xW: array<f32>;

// Must be a power of two for the tree reduction in conv1d_silu_backward_dw.
override WG: u32 = 64;

var<workgroup> partial: array<f32, WG>;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn silu(v: f32) -> f32 {
  return v / (1.0 + exp(-v));
}

// σ(v) · (1 + v · (1 − σ(v)))
fn siluGrad(v: f32) -> f32 {
  let s = 1.0 / (1.0 + exp(-v));
  return s * (1.0 + v * (1.0 - s));
}

@compute @workgroup_size(WG)
fn conv1d_silu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let d = sizes.d;
  if (i >= sizes.b * sizes.l * d) {
    return;
  }
  let c = i % d;
  let t = (i / d) % sizes.l;
  let rowStart = i - (t * d + c); // offset of (b, 0, 0)
  var acc = params[sizes.biasOffset + c];
  for (var j = 0u; j < sizes.k; j++) {
    // Source step s = t − (k − 1) + j, skipped while it is before the start.
    if (t + j + 1u >= sizes.k) {
      let s = t + j + 1u - sizes.k;
      acc += params[sizes.wOffset + c * sizes.k + j] * x[rowStart + s * d + c];
    }
  }
  pre[i] = acc;
  u[i] = silu(acc);
}

@compute @workgroup_size(WG)
fn conv1d_silu_backward_dx(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let d = sizes.d;
  if (i >= sizes.b * sizes.l * d) {
    return;
  }
  let c = i % d;
  let s = (i / d) % sizes.l;
  let rowStart = i - (s * d + c);
  var acc = 0.0;
  for (var j = 0u; j < sizes.k; j++) {
    // Output step t = s + (k − 1) − j read x at step s through tap j.
    let t = s + sizes.k - 1u - j;
    if (t < sizes.l) {
      let o = rowStart + t * d + c;
      acc += du[o] * siluGrad(preIn[o]) * paramsIn[sizes.wOffset + c * sizes.k + j];
    }
  }
  dx[i] = acc;
}

// Dispatched as (k + 1, d) workgroups: workgroup (j, c) sums tap j of channel c,
// and j = k sums the bias.
@compute @workgroup_size(WG)
fn conv1d_silu_backward_dw(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let j = wid.x;
  let c = wid.y;
  let d = sizes.d;
  let l = sizes.l;
  let isBias = j == sizes.k;
  var acc = 0.0;
  for (var r = lane; r < sizes.b * l; r += WG) {
    let t = r % l;
    let o = r * d + c;
    let g = duW[o] * siluGrad(preW[o]);
    if (isBias) {
      acc += g;
    } else if (t + j + 1u >= sizes.k) {
      let s = t + j + 1u - sizes.k;
      acc += g * xW[(r - t + s) * d + c];
    }
  }
  partial[lane] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partial[lane] += partial[lane + stride];
    }
    workgroupBarrier();
  }
  if (lane == 0u) {
    if (isBias) {
      grads[sizes.biasOffset + c] += partial[0];
    } else {
      grads[sizes.wOffset + c * sizes.k + j] += partial[0];
    }
  }
}
