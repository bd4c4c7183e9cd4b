// Token embedding lookup and its gradient (CPU reference: embeddingForward and
// embeddingBackward in src/model/ops.ts).
//
//   forward:  out[t, j] = W[ids[t], j]
//   backward: dW[v, j] += Σ_{t : ids[t] = v} dOut[t, j]
//
// Shapes, row-major with the last index fastest:
//   ids (n_tok) i32, out and dOut (n_tok, dim), W and dW (vocab, dim) starting
//   at float offset wOffset of the bound buffer (the flat parameter or gradient
//   buffer).
// The backward pass gives each (vocab row, column) pair to one invocation, which
// loops over all tokens, so no two invocations write the same float and no
// atomics are needed. That costs vocab · dim · n_tok reads.
// Leaves out: bounds checks on ids; the engine validates ids before upload.

struct Sizes {
  nTok: u32,
  dim: u32,
  vocab: u32,
  wOffset: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// embedding_forward
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read> W: array<f32>;

// embedding_backward
@group(0) @binding(1) var<storage, read_write> dW: array<f32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
@group(0) @binding(3) var<storage, read> idsBackward: array<i32>;

override WG: u32 = 64;

// Index of this invocation in a 1-D range spread over a 2-D grid of workgroups.
fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn embedding_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.nTok * sizes.dim) {
    return;
  }
  let t = i / sizes.dim;
  let j = i % sizes.dim;
  out[i] = W[sizes.wOffset + u32(ids[t]) * sizes.dim + j];
}

@compute @workgroup_size(WG)
fn embedding_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= sizes.vocab * sizes.dim) {
    return;
  }
  let v = i32(i / sizes.dim);
  let j = i % sizes.dim;
  var acc = 0.0;
  for (var t = 0u; t < sizes.nTok; t++) {
    if (idsBackward[t] == v) {
      acc += dOut[t * sizes.dim + j];
    }
  }
  dW[sizes.wOffset + i] += acc;
}
