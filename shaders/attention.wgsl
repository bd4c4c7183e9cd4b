// Causal multi-head attention tiled the FlashAttention way, and its gradient
// (CPU reference: attentionForward and attentionBackward in
// src/model/attentionOps.ts). The tiling and the online softmax follow Dao et al.,
// "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"
// (2022) and Dao, "FlashAttention-2" (2023).
//
//   forward:  S = q kᵀ · scale with S[i, j] masked out for j > i,  scale = 1/√head_dim
//             lse[i] = log Σ_j exp(S[i, j]),  out = exp(S − lse) v
//   backward: P = exp(S − lse),  dDot[i] = Σ_e dout[i, e] · out[i, e]
//             dS = P ⊙ (dout vᵀ − dDot),  dq = dS k · scale,  dk = dSᵀ q · scale,  dv = Pᵀ dout
//
// Shapes, row-major: q, k, v, out, dout, dq, dk, dv are (b, l, n_head · head_dim),
// and head h owns columns [h · head_dim, (h + 1) · head_dim) of each row.
// lse and dDot are (b, n_head, l). dq, dk and dv are overwritten.
//
// attention_forward: a workgroup owns BR query rows of one (batch, head). It walks
// the key tiles of BC rows up to the diagonal and keeps, per query row, the running
// max m, the running sum of exp(S − m) and the output scaled by exp(−m), rescaling
// all three when m grows. The l × l score matrix never reaches global memory.
//
// Backward recomputes P tile by tile from lse. WGSL has no float atomics, so each
// output element has exactly one writer, and the gradient takes two passes:
//   attention_backward_dq: a workgroup owns BR query rows, computes their dDot and
//     writes it for the next pass, then walks key tiles up to the diagonal into dq.
//   attention_backward_dkdv: a workgroup owns BC key rows and walks the query
//     tiles from the diagonal to the end into dk and dv. It reads dDot, so it must
//     run after attention_backward_dq.
//
// Tiles of q, k, v and dout rows, and the output and gradient accumulators, live
// in workgroup memory as vec4s, with zeros past head_dim.
// Dispatch: (ceil(l / tile rows), n_head, b) workgroups, where the tile rows are
// BR for the forward and dq passes and BC for the dk/dv pass.
// The host chooses HEAD_DIM, BR, BC and WG from the device's workgroup memory and
// invocation limits (chooseAttentionTiles in src/engine/webgpu/attentionKernels.ts).
// Leaves out: non-causal and padding masks, dropout, grouped-query heads, f16
// and subgroup operations. Workgroups of a causal mask do unequal work.

struct Sizes {
  b: u32,
  l: u32,
  nHead: u32,
  // 1/√head_dim, computed on the host in double precision and rounded once.
  scale: f32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;

// Inputs shared by all three entry points.
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;

// attention_forward
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;

// Inputs shared by both backward passes.
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read> lseIn: array<f32>;

// attention_backward_dq
@group(0) @binding(1) var<storage, read_write> dq: array<f32>;
@group(0) @binding(2) var<storage, read_write> dDot: array<f32>;
@group(0) @binding(8) var<storage, read> outIn: array<f32>;

// attention_backward_dkdv
@group(0) @binding(1) var<storage, read_write> dk: array<f32>;
@group(0) @binding(2) var<storage, read_write> dv: array<f32>;
@group(0) @binding(8) var<storage, read> dDotIn: array<f32>;

// Columns per head; any value from 1 up, odd ones included.
override HEAD_DIM: u32 = 64;
// Columns per head in vec4 units, derived from HEAD_DIM; the host leaves it unset.
// Tiles pad each row to 4 · HEAD_VEC columns with zeros, so dot products and
// updates run four columns at a time.
override HEAD_VEC: u32 = (HEAD_DIM + 3u) / 4u;
// Query rows per tile.
override BR: u32 = 8;
// Key rows per tile.
override BC: u32 = 8;
// Invocations per workgroup. Every loop strides by WG, so any value works.
override WG: u32 = 64;

// Tiles of rows in workgroup memory, each row HEAD_VEC vec4s.
var<workgroup> qTile: array<vec4f, BR * HEAD_VEC>;
var<workgroup> doTile: array<vec4f, BR * HEAD_VEC>;
var<workgroup> kTile: array<vec4f, BC * HEAD_VEC>;
var<workgroup> vTile: array<vec4f, BC * HEAD_VEC>;
// Forward: the unnormalised output of BR rows. dq pass: the dq accumulator.
var<workgroup> rowAcc: array<vec4f, BR * HEAD_VEC>;
// dk/dv pass: the dk and dv accumulators of BC key rows.
var<workgroup> dkAcc: array<vec4f, BC * HEAD_VEC>;
var<workgroup> dvAcc: array<vec4f, BC * HEAD_VEC>;
// A BR × BC block of scores, probabilities or dS, row-major.
var<workgroup> sTile: array<f32, BR * BC>;
var<workgroup> pTile: array<f32, BR * BC>;
// Forward, per query row of the tile: the running max m, the running sum of
// exp(S − m) and the factor by which this tile shrinks the earlier sum and output.
var<workgroup> rowMax: array<f32, BR>;
var<workgroup> rowSum: array<f32, BR>;
var<workgroup> rowScale: array<f32, BR>;
// Backward, per query row of the tile: lse and dDot.
var<workgroup> rowLse: array<f32, BR>;
var<workgroup> rowDot: array<f32, BR>;

// Float offset of (batch, t, head, column 0) in a (b, l, n_head · head_dim) tensor.
fn rowOffset(batch: u32, t: u32, head: u32) -> u32 {
  return (batch * sizes.l + t) * sizes.nHead * HEAD_DIM + head * HEAD_DIM;
}

// Index of (batch, head, t) in a (b, n_head, l) tensor.
fn statIndex(batch: u32, head: u32, t: u32) -> u32 {
  return (batch * sizes.nHead + head) * sizes.l + t;
}

// Whether query row t attends to key row j under the causal mask.
fn attends(t: u32, j: u32) -> bool {
  return t < sizes.l && j <= t;
}

// Whether column m of the vec4 at e4 is inside the head rather than padding.
fn inHead(e4: u32, m: u32) -> bool {
  return 4u * e4 + m < HEAD_DIM;
}

// Columns 4·e4 to 4·e4 + 3 of row t of q, zero past the head or the sequence.
fn queryVec(batch: u32, t: u32, head: u32, e4: u32) -> vec4f {
  var value = vec4f(0.0);
  if (t < sizes.l) {
    let o = rowOffset(batch, t, head) + 4u * e4;
    for (var m = 0u; m < 4u; m++) {
      if (inHead(e4, m)) {
        value[m] = q[o + m];
      }
    }
  }
  return value;
}

// Columns 4·e4 to 4·e4 + 3 of row j of k, zero past the head or the sequence.
fn keyVec(batch: u32, j: u32, head: u32, e4: u32) -> vec4f {
  var value = vec4f(0.0);
  if (j < sizes.l) {
    let o = rowOffset(batch, j, head) + 4u * e4;
    for (var m = 0u; m < 4u; m++) {
      if (inHead(e4, m)) {
        value[m] = k[o + m];
      }
    }
  }
  return value;
}

// Columns 4·e4 to 4·e4 + 3 of row j of v, zero past the head or the sequence.
fn valueVec(batch: u32, j: u32, head: u32, e4: u32) -> vec4f {
  var value = vec4f(0.0);
  if (j < sizes.l) {
    let o = rowOffset(batch, j, head) + 4u * e4;
    for (var m = 0u; m < 4u; m++) {
      if (inHead(e4, m)) {
        value[m] = v[o + m];
      }
    }
  }
  return value;
}

// Columns 4·e4 to 4·e4 + 3 of row t of dout, zero past the head or the sequence.
fn doutVec(batch: u32, t: u32, head: u32, e4: u32) -> vec4f {
  var value = vec4f(0.0);
  if (t < sizes.l) {
    let o = rowOffset(batch, t, head) + 4u * e4;
    for (var m = 0u; m < 4u; m++) {
      if (inHead(e4, m)) {
        value[m] = dout[o + m];
      }
    }
  }
  return value;
}

// Σ_e qTile[r, e] · kTile[c, e].
fn dotQK(r: u32, c: u32) -> f32 {
  var s = 0.0;
  for (var e4 = 0u; e4 < HEAD_VEC; e4++) {
    s += dot(qTile[r * HEAD_VEC + e4], kTile[c * HEAD_VEC + e4]);
  }
  return s;
}

// Σ_e doTile[r, e] · vTile[c, e].
fn dotDoV(r: u32, c: u32) -> f32 {
  var s = 0.0;
  for (var e4 = 0u; e4 < HEAD_VEC; e4++) {
    s += dot(doTile[r * HEAD_VEC + e4], vTile[c * HEAD_VEC + e4]);
  }
  return s;
}

// Copies rows start..start+BR of q into qTile.
fn loadQueryTile(lane: u32, batch: u32, head: u32, start: u32) {
  for (var idx = lane; idx < BR * HEAD_VEC; idx += WG) {
    qTile[idx] = queryVec(batch, start + idx / HEAD_VEC, head, idx % HEAD_VEC);
  }
}

// Copies rows start..start+BR of dout into doTile.
fn loadDoutTile(lane: u32, batch: u32, head: u32, start: u32) {
  for (var idx = lane; idx < BR * HEAD_VEC; idx += WG) {
    doTile[idx] = doutVec(batch, start + idx / HEAD_VEC, head, idx % HEAD_VEC);
  }
}

// Copies rows start..start+BC of k into kTile.
fn loadKeyTile(lane: u32, batch: u32, head: u32, start: u32) {
  for (var idx = lane; idx < BC * HEAD_VEC; idx += WG) {
    kTile[idx] = keyVec(batch, start + idx / HEAD_VEC, head, idx % HEAD_VEC);
  }
}

// Copies rows start..start+BC of v into vTile.
fn loadValueTile(lane: u32, batch: u32, head: u32, start: u32) {
  for (var idx = lane; idx < BC * HEAD_VEC; idx += WG) {
    vTile[idx] = valueVec(batch, start + idx / HEAD_VEC, head, idx % HEAD_VEC);
  }
}

// Copies rows start..start+BC of v into kTile, so that the forward pass needs one key/value tile.
fn loadValuesIntoKeyTile(lane: u32, batch: u32, head: u32, start: u32) {
  for (var idx = lane; idx < BC * HEAD_VEC; idx += WG) {
    kTile[idx] = valueVec(batch, start + idx / HEAD_VEC, head, idx % HEAD_VEC);
  }
}

// Number of key tiles that query rows rowStart..rowStart+BR see: keys 0 to the last row's diagonal.
fn keyTileCount(rowStart: u32) -> u32 {
  let keyEnd = min(rowStart + BR, sizes.l);
  return (keyEnd + BC - 1u) / BC;
}

@compute @workgroup_size(WG)
fn attention_forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let head = wid.y;
  let batch = wid.z;
  let rowStart = wid.x * BR;

  loadQueryTile(lane, batch, head, rowStart);
  for (var idx = lane; idx < BR * HEAD_VEC; idx += WG) {
    rowAcc[idx] = vec4f(0.0);
  }
  for (var r = lane; r < BR; r += WG) {
    rowMax[r] = 0.0;
    rowSum[r] = 0.0;
  }

  let tiles = keyTileCount(rowStart);
  for (var tile = 0u; tile < tiles; tile++) {
    let keyStart = tile * BC;
    // After this barrier the previous tile's readers of kTile and sTile are done.
    workgroupBarrier();
    loadKeyTile(lane, batch, head, keyStart);
    workgroupBarrier();

    for (var idx = lane; idx < BR * BC; idx += WG) {
      sTile[idx] = dotQK(idx / BC, idx % BC) * sizes.scale;
    }
    workgroupBarrier();

    // Online softmax: one invocation per row raises the running max to cover this
    // tile, turns the tile's scores into exp(S − m) and records the factor
    // exp(m_old − m_new) by which the earlier sum and output shrink. Meanwhile
    // every invocation loads V over K, whose last reader passed the barrier above.
    for (var r = lane; r < BR; r += WG) {
      let t = rowStart + r;
      // Before the first tile there is no running max. That tile holds key 0,
      // which every row inside the sequence attends, so the max is set there.
      var hasMax = tile > 0u;
      var newMax = rowMax[r];
      for (var c = 0u; c < BC; c++) {
        if (attends(t, keyStart + c)) {
          let s = sTile[r * BC + c];
          newMax = select(s, max(newMax, s), hasMax);
          hasMax = true;
        }
      }
      var shrink = 0.0;
      if (tile > 0u) {
        shrink = exp(rowMax[r] - newMax);
      }
      var sum = 0.0;
      for (var c = 0u; c < BC; c++) {
        var p = 0.0;
        if (attends(t, keyStart + c)) {
          p = exp(sTile[r * BC + c] - newMax);
        }
        sTile[r * BC + c] = p;
        sum += p;
      }
      rowMax[r] = newMax;
      rowSum[r] = rowSum[r] * shrink + sum;
      rowScale[r] = shrink;
    }
    loadValuesIntoKeyTile(lane, batch, head, keyStart);
    workgroupBarrier();

    // kTile now holds V.
    for (var idx = lane; idx < BR * HEAD_VEC; idx += WG) {
      let r = idx / HEAD_VEC;
      let e4 = idx % HEAD_VEC;
      var acc = rowAcc[idx] * rowScale[r];
      for (var c = 0u; c < BC; c++) {
        acc += sTile[r * BC + c] * kTile[c * HEAD_VEC + e4];
      }
      rowAcc[idx] = acc;
    }
  }
  workgroupBarrier();

  for (var idx = lane; idx < BR * HEAD_VEC; idx += WG) {
    let r = idx / HEAD_VEC;
    let e4 = idx % HEAD_VEC;
    let t = rowStart + r;
    if (t < sizes.l) {
      let value = rowAcc[idx] / rowSum[r];
      let o = rowOffset(batch, t, head) + 4u * e4;
      for (var m = 0u; m < 4u; m++) {
        if (inHead(e4, m)) {
          out[o + m] = value[m];
        }
      }
    }
  }
  for (var r = lane; r < BR; r += WG) {
    let t = rowStart + r;
    if (t < sizes.l) {
      lse[statIndex(batch, head, t)] = rowMax[r] + log(rowSum[r]);
    }
  }
}

@compute @workgroup_size(WG)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let head = wid.y;
  let batch = wid.z;
  let rowStart = wid.x * BR;

  loadQueryTile(lane, batch, head, rowStart);
  loadDoutTile(lane, batch, head, rowStart);
  for (var idx = lane; idx < BR * HEAD_VEC; idx += WG) {
    rowAcc[idx] = vec4f(0.0);
  }
  // dDot is written out for attention_backward_dkdv; this workgroup is the only
  // writer of its rows.
  for (var r = lane; r < BR; r += WG) {
    let t = rowStart + r;
    var lseValue = 0.0;
    var dDotValue = 0.0;
    if (t < sizes.l) {
      let o = rowOffset(batch, t, head);
      for (var e = 0u; e < HEAD_DIM; e++) {
        dDotValue += dout[o + e] * outIn[o + e];
      }
      lseValue = lseIn[statIndex(batch, head, t)];
      dDot[statIndex(batch, head, t)] = dDotValue;
    }
    rowLse[r] = lseValue;
    rowDot[r] = dDotValue;
  }

  let tiles = keyTileCount(rowStart);
  for (var tile = 0u; tile < tiles; tile++) {
    let keyStart = tile * BC;
    workgroupBarrier();
    loadKeyTile(lane, batch, head, keyStart);
    loadValueTile(lane, batch, head, keyStart);
    workgroupBarrier();

    // sTile = dS without the scale, which is applied once when dq is written.
    for (var idx = lane; idx < BR * BC; idx += WG) {
      let r = idx / BC;
      let c = idx % BC;
      var ds = 0.0;
      if (attends(rowStart + r, keyStart + c)) {
        let p = exp(dotQK(r, c) * sizes.scale - rowLse[r]);
        ds = p * (dotDoV(r, c) - rowDot[r]);
      }
      sTile[idx] = ds;
    }
    workgroupBarrier();

    for (var idx = lane; idx < BR * HEAD_VEC; idx += WG) {
      let r = idx / HEAD_VEC;
      let e4 = idx % HEAD_VEC;
      var acc = rowAcc[idx];
      for (var c = 0u; c < BC; c++) {
        acc += sTile[r * BC + c] * kTile[c * HEAD_VEC + e4];
      }
      rowAcc[idx] = acc;
    }
  }
  workgroupBarrier();

  for (var idx = lane; idx < BR * HEAD_VEC; idx += WG) {
    let e4 = idx % HEAD_VEC;
    let t = rowStart + idx / HEAD_VEC;
    if (t < sizes.l) {
      let value = rowAcc[idx] * sizes.scale;
      let o = rowOffset(batch, t, head) + 4u * e4;
      for (var m = 0u; m < 4u; m++) {
        if (inHead(e4, m)) {
          dq[o + m] = value[m];
        }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn attention_backward_dkdv(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let head = wid.y;
  let batch = wid.z;
  let keyStart = wid.x * BC;

  loadKeyTile(lane, batch, head, keyStart);
  loadValueTile(lane, batch, head, keyStart);
  for (var idx = lane; idx < BC * HEAD_VEC; idx += WG) {
    dkAcc[idx] = vec4f(0.0);
    dvAcc[idx] = vec4f(0.0);
  }

  // Query rows before keyStart attend to none of these keys.
  let firstTile = keyStart / BR;
  let tiles = (sizes.l + BR - 1u) / BR;
  for (var tile = firstTile; tile < tiles; tile++) {
    let rowStart = tile * BR;
    workgroupBarrier();
    loadQueryTile(lane, batch, head, rowStart);
    loadDoutTile(lane, batch, head, rowStart);
    for (var r = lane; r < BR; r += WG) {
      let t = rowStart + r;
      var lseValue = 0.0;
      var dDotValue = 0.0;
      if (t < sizes.l) {
        lseValue = lseIn[statIndex(batch, head, t)];
        dDotValue = dDotIn[statIndex(batch, head, t)];
      }
      rowLse[r] = lseValue;
      rowDot[r] = dDotValue;
    }
    workgroupBarrier();

    // pTile = P and sTile = dS without the scale, which is applied once when dk is written.
    for (var idx = lane; idx < BR * BC; idx += WG) {
      let r = idx / BC;
      let c = idx % BC;
      var p = 0.0;
      var ds = 0.0;
      if (attends(rowStart + r, keyStart + c)) {
        p = exp(dotQK(r, c) * sizes.scale - rowLse[r]);
        ds = p * (dotDoV(r, c) - rowDot[r]);
      }
      pTile[idx] = p;
      sTile[idx] = ds;
    }
    workgroupBarrier();

    for (var idx = lane; idx < BC * HEAD_VEC; idx += WG) {
      let c = idx / HEAD_VEC;
      let e4 = idx % HEAD_VEC;
      var dkSum = dkAcc[idx];
      var dvSum = dvAcc[idx];
      for (var r = 0u; r < BR; r++) {
        dkSum += sTile[r * BC + c] * qTile[r * HEAD_VEC + e4];
        dvSum += pTile[r * BC + c] * doTile[r * HEAD_VEC + e4];
      }
      dkAcc[idx] = dkSum;
      dvAcc[idx] = dvSum;
    }
  }
  workgroupBarrier();

  for (var idx = lane; idx < BC * HEAD_VEC; idx += WG) {
    let e4 = idx % HEAD_VEC;
    let j = keyStart + idx / HEAD_VEC;
    if (j < sizes.l) {
      let dkValue = dkAcc[idx] * sizes.scale;
      let dvValue = dvAcc[idx];
      let o = rowOffset(batch, j, head) + 4u * e4;
      for (var m = 0u; m < 4u; m++) {
        if (inHead(e4, m)) {
          dk[o + m] = dkValue[m];
          dv[o + m] = dvValue[m];
        }
      }
    }
  }
}
