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
// The backward pass gives each vocab row and block of 4 columns to one
// invocation, which loops over all tokens, so no two invocations write the same
// float and no atomics are needed. That costs vocab · dim / 4 · n_tok reads of
// ids; a block shares each read of ids[t] between its 4 columns.
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

// One invocation per (vocab row v, columns 4q..4q+3), dispatched over
// vocab · ceil(dim / 4) invocations.
@compute @workgroup_size(WG)
fn embedding_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let blocks = (sizes.dim + 3u) / 4u;
  if (i >= sizes.vocab * blocks) {
    return;
  }
  let v = i32(i / blocks);
  let j = (i % blocks) * 4u;
  // Columns past the end of the row read column dim − 1 and are not written.
  let last = sizes.dim - 1u;
  let cols = min(vec4u(j, j + 1u, j + 2u, j + 3u), vec4u(last));
  var acc = vec4f(0.0);
  for (var t = 0u; t < sizes.nTok; t++) {
    if (idsBackward[t] == v) {
      let o = t * sizes.dim;
      acc += vec4f(dOut[o + cols.x], dOut[o + cols.y], dOut[o + cols.z], dOut[o + cols.w]);
    }
  }
  let row = sizes.wOffset + u32(v) * sizes.dim;
  dW[row + j] += acc.x;
  if (j + 1u < sizes.dim) {
    dW[row + j + 1u] += acc.y;
  }
  if (j + 2u < sizes.dim) {
    dW[row + j + 2u] += acc.z;
  }
  if (j + 3u < sizes.dim) {
    dW[row + j + 3u] += acc.w;
  }
}
