// Learned absolute position embeddings added to the token embeddings, GPT-2
// style (CPU reference: positionEmbeddingForward in src/model/attentionOps.ts).
//
//   out[batch, t, j] += W[t, j]
//
// Shapes, row-major: out (b, l, dim); W (max_len, dim) with l ≤ max_len, starting
// at float offset wOffset of the bound buffer (the flat parameter buffer).
// One invocation per element of out.
// The gradient, dW[t, j] += Σ_batch dOut[batch, t, j], is a sum over the b rows of
// dOut viewed as (b, l · dim), which reduce_rows in reduce.wgsl computes.
// Leaves out: bounds checks on l; the host checks l ≤ max_len.

struct Sizes {
  b: u32,
  l: u32,
  dim: u32,
  wOffset: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;

override WG: u32 = 64;

// Index of this invocation in a 1-D range spread over a 2-D grid of workgroups.
fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn position_embedding_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let perSequence = sizes.l * sizes.dim;
  if (i >= sizes.b * perSequence) {
    return;
  }
  // i % (l · dim) is t · dim + j, the offset of W[t, j].
  out[i] += W[sizes.wOffset + i % perSequence];
}
