// Masked softmax cross-entropy over rows of logits, with its gradient in the same
// pass (CPU reference: crossEntropyForwardBackward in src/model/ops.ts):
//
//   lossRows[r] = mask[r] · (logsumexp(logits[r]) − logits[r, target[r]])   (0 where mask is 0)
//   correct[r]  = 1 when argmax(logits[r]) = target[r] and mask[r] ≠ 0, else 0
//   dlogits[r]  = mask[r] · lossScale · (softmax(logits[r]) − onehot(target[r]))
//
// Shapes: logits and dlogits (rows, vocab) row-major; targets (rows) i32; mask,
// lossRows and correct (rows). lossScale, 1 / Σ mask for a mean over answer
// positions, comes from the per-step uniform, which the host writes each step.
// Ties in the argmax go to the lowest index, as in the CPU reference.
// Leaves out: label smoothing and ignore indices (the mask plays that role); one
// invocation walks a whole row, which is slow for very large vocabularies.

struct Sizes {
  rows: u32,
  vocab: u32,
  pad0: u32,
  pad1: u32,
}

// Written by the host before every training step.
struct Step {
  learningRate: f32,
  biasCorrection1: f32,
  biasCorrection2: f32,
  lossScale: f32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> lossRows: array<f32>;
@group(0) @binding(3) var<storage, read_write> correct: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(5) var<storage, read> logits: array<f32>;
@group(0) @binding(6) var<storage, read> targets: array<i32>;
@group(0) @binding(7) var<storage, read> mask: array<f32>;

override WG: u32 = 64;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn cross_entropy_forward_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flatIndex(gid, nwg);
  if (r >= sizes.rows) {
    return;
  }
  let o = r * sizes.vocab;
  var maxLogit = logits[o];
  var arg = 0u;
  for (var v = 1u; v < sizes.vocab; v++) {
    if (logits[o + v] > maxLogit) {
      maxLogit = logits[o + v];
      arg = v;
    }
  }
  var sum = 0.0;
  for (var v = 0u; v < sizes.vocab; v++) {
    sum += exp(logits[o + v] - maxLogit);
  }

  let targetIndex = u32(targets[r]);
  let m = mask[r];
  if (m == 0.0) {
    lossRows[r] = 0.0;
  } else {
    lossRows[r] = m * (log(sum) + maxLogit - logits[o + targetIndex]);
  }
  correct[r] = select(0.0, 1.0, m != 0.0 && arg == targetIndex);

  let g = m * step.lossScale;
  for (var v = 0u; v < sizes.vocab; v++) {
    let p = exp(logits[o + v] - maxLogit) / sum;
    dlogits[o + v] = g * (p - select(0.0, 1.0, v == targetIndex));
  }
}
