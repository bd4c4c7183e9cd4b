// Causal multi-head attention that stores the probability matrix, and its
// gradient: the standard formulation, kept as the baseline that attention.wgsl
// is measured against. Same results as attentionForward and attentionBackward in
// src/model/attentionOps.ts, except that backward reads the stored P in place of lse.
//
//   forward:  S = q kᵀ · scale with S[i, j] masked out for j > i,  scale = 1/√head_dim
//             P = softmax(S) row by row,  lse[i] = log Σ_j exp(S[i, j]),  out = P v
//   backward: dv = Pᵀ dout,  dDot[i] = Σ_e dout[i, e] · out[i, e],
//             dS = P ⊙ (dout vᵀ − dDot) · scale,  dq = dS k,  dk = dSᵀ q
//
// Shapes, row-major: q, k, v, out, dout, dq, dk, dv are (b, l, n_head · head_dim),
// and head h owns columns [h · head_dim, (h + 1) · head_dim) of each row.
// lse is (b, n_head, l); probs is (b, n_head, l, l), so memory grows as l².
// Above the diagonal probs holds 0.
//
// Passes, in order:
//   forward:  attention_naive_scores (probs = S), attention_naive_softmax (probs = P
//             in place, lse), attention_naive_output (out = P v).
//   backward: attention_naive_backward_dv (reads P), attention_naive_backward_ds
//             (overwrites P with dS), attention_naive_backward_dq and
//             attention_naive_backward_dk (read dS). A second backward therefore
//             needs a new forward.
// Elementwise passes take one invocation per output element; the two row passes
// take one workgroup per (batch, head, query row). dq, dk and dv are overwritten.
// Leaves out: tiling of the products and everything attention.wgsl leaves out.

struct Sizes {
  b: u32,
  l: u32,
  nHead: u32,
  headDim: u32,
  // 1/√head_dim, computed on the host in double precision and rounded once.
  scale: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// attention_naive_scores
@group(0) @binding(1) var<storage, read_write> scores: array<f32>;
@group(0) @binding(2) var<storage, read> qScores: array<f32>;
@group(0) @binding(3) var<storage, read> kScores: array<f32>;

// attention_naive_softmax
@group(0) @binding(1) var<storage, read_write> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;

// Read by attention_naive_output, attention_naive_backward_dv,
// attention_naive_backward_dq and attention_naive_backward_dk: P, or dS after
// attention_naive_backward_ds.
@group(0) @binding(2) var<storage, read> probsIn: array<f32>;

// attention_naive_output
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> vOutput: array<f32>;

// attention_naive_backward_dv
@group(0) @binding(1) var<storage, read_write> dv: array<f32>;
@group(0) @binding(3) var<storage, read> doutDv: array<f32>;

// attention_naive_backward_ds
@group(0) @binding(1) var<storage, read_write> dScores: array<f32>;
@group(0) @binding(2) var<storage, read> doutDs: array<f32>;
@group(0) @binding(3) var<storage, read> outDs: array<f32>;
@group(0) @binding(4) var<storage, read> vDs: array<f32>;

// attention_naive_backward_dq
@group(0) @binding(1) var<storage, read_write> dq: array<f32>;
@group(0) @binding(3) var<storage, read> kDq: array<f32>;

// attention_naive_backward_dk
@group(0) @binding(1) var<storage, read_write> dk: array<f32>;
@group(0) @binding(3) var<storage, read> qDk: array<f32>;

// Invocations per workgroup; a power of two for the tree reductions of the row passes.
override WG: u32 = 64;

var<workgroup> partial: array<f32, WG>;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn workgroupIndex(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Float offset of (batch, t, head, column 0) in a (b, l, n_head · head_dim) tensor.
fn rowOffset(batch: u32, t: u32, head: u32) -> u32 {
  return (batch * sizes.l + t) * sizes.nHead * sizes.headDim + head * sizes.headDim;
}

// Float offset of row i of head (batch, head) in the (b, n_head, l, l) matrix.
fn matrixRow(batch: u32, head: u32, i: u32) -> u32 {
  return ((batch * sizes.nHead + head) * sizes.l + i) * sizes.l;
}

// Sums `value` over the workgroup; every invocation gets the total.
fn workgroupSum(lane: u32, value: f32) -> f32 {
  partial[lane] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partial[lane] += partial[lane + stride];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  // Keeps the next use of partial from overwriting it before everyone has read it.
  workgroupBarrier();
  return total;
}

// The max of `value` over the workgroup; every invocation gets it.
fn workgroupMax(lane: u32, value: f32) -> f32 {
  partial[lane] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partial[lane] = max(partial[lane], partial[lane + stride]);
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

// One invocation per (batch, head, i, j) element of scores.
@compute @workgroup_size(WG)
fn attention_naive_scores(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let index = flatIndex(gid, nwg);
  let l = sizes.l;
  if (index >= sizes.b * sizes.nHead * l * l) {
    return;
  }
  let j = index % l;
  let i = (index / l) % l;
  let head = (index / (l * l)) % sizes.nHead;
  let batch = index / (l * l * sizes.nHead);
  var s = 0.0;
  if (j <= i) {
    let qo = rowOffset(batch, i, head);
    let ko = rowOffset(batch, j, head);
    for (var e = 0u; e < sizes.headDim; e++) {
      s += qScores[qo + e] * kScores[ko + e];
    }
    s *= sizes.scale;
  }
  scores[index] = s;
}

// One workgroup per (batch, head, i) row, indexed over the x and y workgroup counts.
@compute @workgroup_size(WG)
fn attention_naive_softmax(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let row = workgroupIndex(wid, nwg);
  if (row >= sizes.b * sizes.nHead * sizes.l) {
    return;
  }
  let i = row % sizes.l;
  let o = row * sizes.l;

  // Key 0 is in every row, so the max is over at least one score.
  var localMax = probs[o];
  for (var j = lane; j <= i; j += WG) {
    localMax = max(localMax, probs[o + j]);
  }
  let rowMax = workgroupMax(lane, localMax);

  var localSum = 0.0;
  for (var j = lane; j <= i; j += WG) {
    let p = exp(probs[o + j] - rowMax);
    probs[o + j] = p;
    localSum += p;
  }
  let sum = workgroupSum(lane, localSum);

  for (var j = lane; j <= i; j += WG) {
    probs[o + j] /= sum;
  }
  if (lane == 0u) {
    lse[row] = rowMax + log(sum);
  }
}

// One invocation per element of out (b, l, n_head · head_dim).
@compute @workgroup_size(WG)
fn attention_naive_output(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let index = flatIndex(gid, nwg);
  let width = sizes.nHead * sizes.headDim;
  if (index >= sizes.b * sizes.l * width) {
    return;
  }
  let column = index % width;
  let head = column / sizes.headDim;
  let e = column % sizes.headDim;
  let i = (index / width) % sizes.l;
  let batch = index / (width * sizes.l);
  let p = matrixRow(batch, head, i);
  var acc = 0.0;
  for (var j = 0u; j <= i; j++) {
    acc += probsIn[p + j] * vOutput[rowOffset(batch, j, head) + e];
  }
  out[index] = acc;
}

// One invocation per element of dv: dv[j, e] = Σ_{i ≥ j} P[i, j] · dout[i, e].
@compute @workgroup_size(WG)
fn attention_naive_backward_dv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let index = flatIndex(gid, nwg);
  let width = sizes.nHead * sizes.headDim;
  if (index >= sizes.b * sizes.l * width) {
    return;
  }
  let column = index % width;
  let head = column / sizes.headDim;
  let e = column % sizes.headDim;
  let j = (index / width) % sizes.l;
  let batch = index / (width * sizes.l);
  var acc = 0.0;
  for (var i = j; i < sizes.l; i++) {
    acc += probsIn[matrixRow(batch, head, i) + j] * doutDv[rowOffset(batch, i, head) + e];
  }
  dv[index] = acc;
}

// One workgroup per (batch, head, i) row: dDot[i] by a workgroup sum, then dS over the row in place of P.
@compute @workgroup_size(WG)
fn attention_naive_backward_ds(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let row = workgroupIndex(wid, nwg);
  if (row >= sizes.b * sizes.nHead * sizes.l) {
    return;
  }
  let i = row % sizes.l;
  let head = (row / sizes.l) % sizes.nHead;
  let batch = row / (sizes.l * sizes.nHead);
  let qo = rowOffset(batch, i, head);

  var localDot = 0.0;
  for (var e = lane; e < sizes.headDim; e += WG) {
    localDot += doutDs[qo + e] * outDs[qo + e];
  }
  let dDot = workgroupSum(lane, localDot);

  let o = row * sizes.l;
  for (var j = lane; j <= i; j += WG) {
    let vo = rowOffset(batch, j, head);
    var dp = 0.0;
    for (var e = 0u; e < sizes.headDim; e++) {
      dp += doutDs[qo + e] * vDs[vo + e];
    }
    dScores[o + j] = dScores[o + j] * (dp - dDot) * sizes.scale;
  }
}

// One invocation per element of dq: dq[i, e] = Σ_{j ≤ i} dS[i, j] · k[j, e].
@compute @workgroup_size(WG)
fn attention_naive_backward_dq(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let index = flatIndex(gid, nwg);
  let width = sizes.nHead * sizes.headDim;
  if (index >= sizes.b * sizes.l * width) {
    return;
  }
  let column = index % width;
  let head = column / sizes.headDim;
  let e = column % sizes.headDim;
  let i = (index / width) % sizes.l;
  let batch = index / (width * sizes.l);
  let p = matrixRow(batch, head, i);
  var acc = 0.0;
  for (var j = 0u; j <= i; j++) {
    acc += probsIn[p + j] * kDq[rowOffset(batch, j, head) + e];
  }
  dq[index] = acc;
}

// One invocation per element of dk: dk[j, e] = Σ_{i ≥ j} dS[i, j] · q[i, e].
@compute @workgroup_size(WG)
fn attention_naive_backward_dk(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let index = flatIndex(gid, nwg);
  let width = sizes.nHead * sizes.headDim;
  if (index >= sizes.b * sizes.l * width) {
    return;
  }
  let column = index % width;
  let head = column / sizes.headDim;
  let e = column % sizes.headDim;
  let j = (index / width) % sizes.l;
  let batch = index / (width * sizes.l);
  var acc = 0.0;
  for (var i = j; i < sizes.l; i++) {
    acc += probsIn[matrixRow(batch, head, i) + j] * qDk[rowOffset(batch, i, head) + e];
  }
  dk[index] = acc;
}
