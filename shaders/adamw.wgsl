// One AdamW step with decoupled weight decay over the whole flat parameter
// buffer (CPU reference: adamwUpdate in src/model/ops.ts):
//
//   g = grads · clip[0]
//   m = β1 m + (1 − β1) g,   v = β2 v + (1 − β2) g²
//   p −= lr · wd · p                      (only where the tensor decays)
//   p −= lr · (m / bc1) / (sqrt(v / bc2) + ε)
//
// Shapes: params, m, v, grads (totalSize) in the layout of src/model/params.ts;
// decayFlags (totalSize / 64) u32, one per 64-float block, which works because
// every tensor starts on a 64-float boundary; clip (2) from clip_scale in
// reduce.wgsl. lr and the bias corrections bc1 = 1 − β1^step and
// bc2 = 1 − β2^step come from the per-step uniform.
// Alignment padding has zero parameters and zero gradients, so it stays zero.
// Leaves out: AMSGrad, per-tensor learning rates and fused mixed precision.

struct Hyper {
  count: u32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

// Written by the host before every training step.
struct Step {
  learningRate: f32,
  biasCorrection1: f32,
  biasCorrection2: f32,
  lossScale: f32,
}

@group(0) @binding(0) var<uniform> hyper: Hyper;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> grads: array<f32>;
@group(0) @binding(6) var<storage, read> decayFlags: array<u32>;
@group(0) @binding(7) var<storage, read> clip: array<f32>;

override WG: u32 = 64;
// Floats per decay flag; PARAM_ALIGN in src/model/params.ts.
const BLOCK: u32 = 64;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn adamw_update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= hyper.count) {
    return;
  }
  let g = grads[i] * clip[0];
  let mi = hyper.beta1 * m[i] + (1.0 - hyper.beta1) * g;
  let vi = hyper.beta2 * v[i] + (1.0 - hyper.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;

  let lr = step.learningRate;
  var p = params[i];
  if (decayFlags[i / BLOCK] != 0u) {
    p -= lr * hyper.weightDecay * p;
  }
  p -= (lr * (mi / step.biasCorrection1)) / (sqrt(vi / step.biasCorrection2) + hyper.eps);
  params[i] = p;
}
