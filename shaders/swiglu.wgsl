// The SwiGLU gate of the Transformer baseline's MLP (Shazeer, "GLU Variants
// Improve Transformer", 2020; CPU reference: swigluForward and swigluBackward in
// src/model/attentionOps.ts):
//
//   forward:  out = SiLU(gate) · up
//   backward: dGate = dout · up · SiLU'(gate),  dUp = dout · SiLU(gate)   (both overwrite)
//
// with SiLU(x) = x · σ(x) and SiLU'(x) = σ(x) · (1 + x · (1 − σ(x))).
// Shapes: every tensor is (b, l, d_ff), row-major; the kernel sees a flat range
// of `count` elements.
// Leaves out: the gate and up projections, which are matmuls.

struct Sizes {
  count: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// swiglu_forward
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;

// swiglu_backward
@group(0) @binding(1) var<storage, read_write> dGate: array<f32>;
@group(0) @binding(2) var<storage, read_write> dUp: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> gateIn: array<f32>;
@group(0) @binding(5) var<storage, read> upIn: array<f32>;

override WG: u32 = 64;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

@compute @workgroup_size(WG)
fn swiglu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.count) {
    return;
  }
  let g = gate[i];
  out[i] = g * sigmoid(g) * up[i];
}

@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.count) {
    return;
  }
  let g = gateIn[i];
  let s = sigmoid(g);
  dGate[i] = dout[i] * upIn[i] * s * (1.0 + g * (1.0 - s));
  dUp[i] = dout[i] * g * s;
}
