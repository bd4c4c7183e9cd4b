// The output gate of the Mamba mixer, out = y ⊙ SiLU(z), and its gradient. The
// CPU reference folds it into selectiveScanForward and selectiveScanBackward
// (src/model/ops.ts), with the same formulas:
//
//   forward:  out = y · SiLU(z)
//   backward: dz = dout · y · SiLU'(z),  dy = dout · SiLU(z)   (both overwrite)
//
// Shapes: every tensor is (b, l, d_inner), row-major; the kernel sees a flat
// range of `count` elements.
// Leaves out: nothing beyond the gate; RMSNorm-gated variants are not used here.

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

override WG: u32 = 64;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

@compute @workgroup_size(WG)
fn silu_gate_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.count) {
    return;
  }
  let zv = z[i];
  out[i] = y[i] * (zv * sigmoid(zv));
}

@compute @workgroup_size(WG)
fn silu_gate_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.count) {
    return;
  }
  let zv = zIn[i];
  let sg = sigmoid(zv);
  dz[i] = dout[i] * yIn[i] * sg * (1.0 + zv * (1.0 - sg));
  dy[i] = dout[i] * zv * sg;
}
