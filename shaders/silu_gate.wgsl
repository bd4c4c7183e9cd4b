// The output gate of the Mamba mixer, out = y ⊙ SiLU(z), its plain-product form
// out = y ⊙ z (H3's gates, with GATE_SILU = 0), SiLU on its own, and their
// gradients. CPU reference: siluGateForward, siluGateBackward, siluForward and
// siluBackward in src/model/ops.ts. selectiveScanForward and
// selectiveScanBackward there fold the gate in, with the same formulas:
//
//   silu_gate_forward:  out = y · act(z),  act = SiLU, or the identity when GATE_SILU = 0
//   silu_gate_backward: dz = dout · y · act'(z),  dy = dout · act(z)   (both overwrite)
//   silu_forward:       out = SiLU(x)
//   silu_backward:      dx = dout · SiLU'(x)                          (overwrites)
//
// Shapes: every tensor is (b, l, d_inner), row-major; the kernel sees a flat
// range of `count` elements.
// Leaves out: RMSNorm-gated variants, which this model does not use.

struct Sizes {
  count: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// silu_gate_forward
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> z: array<f32>;

// silu_gate_backward
@group(0) @binding(1) var<storage, read_write> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dz: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> yIn: array<f32>;
@group(0) @binding(5) var<storage, read> zIn: array<f32>;

// silu_forward: out at binding 1, and
@group(0) @binding(2) var<storage, read> x: array<f32>;

// silu_backward: dy at binding 1 is dx, and
@group(0) @binding(2) var<storage, read> doutSilu: array<f32>;
@group(0) @binding(3) var<storage, read> xIn: array<f32>;

override WG: u32 = 64;
// 1: the gate is SiLU(z); 0: the gate is z itself.
override GATE_SILU: u32 = 1u;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

fn silu(v: f32) -> f32 {
  return v * sigmoid(v);
}

// σ(v) · (1 + v · (1 − σ(v)))
fn siluGrad(v: f32) -> f32 {
  let s = sigmoid(v);
  return s * (1.0 + v * (1.0 - s));
}

fn gate(v: f32) -> f32 {
  if (GATE_SILU == 0u) {
    return v;
  }
  return silu(v);
}

fn gateGrad(v: f32) -> f32 {
  if (GATE_SILU == 0u) {
    return 1.0;
  }
  return siluGrad(v);
}

@compute @workgroup_size(WG)
fn silu_gate_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.count) {
    return;
  }
  out[i] = y[i] * gate(z[i]);
}

@compute @workgroup_size(WG)
fn silu_gate_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.count) {
    return;
  }
  let zv = zIn[i];
  dz[i] = dout[i] * yIn[i] * gateGrad(zv);
  dy[i] = dout[i] * gate(zv);
}

@compute @workgroup_size(WG)
fn silu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.count) {
    return;
  }
  out[i] = silu(x[i]);
}

@compute @workgroup_size(WG)
fn silu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.count) {
    return;
  }
  dy[i] = doutSilu[i] * siluGrad(xIn[i]);
}
