// Register-blocked matrix product over strided views (CPU reference:
// matmulForward and matmulBackward in src/model/ops.ts, which are both
// instances of it):
//
//   C[i, j] = Σ_p A[i, p] · B[p, j]        (or C[i, j] += … when accumulate is 1)
//   A[i, p] = a[aOffset + i · aRowStride + p · aColStride]     i < m, p < k
//   B[p, j] = b[bOffset + p · bRowStride + j · bColStride]     p < k, j < n
//   C[i, j] = c[cOffset + i · cRowStride + j]
//
// Offsets and strides are in floats, so one kernel serves every case without
// binding sub-ranges:
//   y = x Wᵀ over weight rows r0..r0+n of W (rows, k):  B[p, j] = W[(r0 + j) · k + p]
//   dx = dy W:                                           B[j, p] = W[(r0 + j) · k + p]
//   dW += dyᵀ x:                                         A[j, i] = dy[i · n + j]
//
// Each invocation computes an 8 × 8 block of C (8 × 4 when WIDE is false) in
// registers, reading A and B straight from storage: per step p it loads 8
// values of A and 8 of B for 64 multiply-adds. A workgroup of WG_X × WG_Y
// invocations covers 8 · WG_Y rows and 8 · WG_X columns (4 · WG_X when narrow).
// There is no workgroup memory and no barrier. On SwiftShader every invocation
// is a lane of a CPU SIMD register, every load from storage is a per-lane
// gather, and a shader with a barrier runs each 4-lane subgroup as a coroutine
// that switches at every barrier. So the cost is the number of loads per
// multiply-add, and tiling in workgroup memory would only add loads and
// barriers. On a hardware GPU the L1 and L2 caches serve the reuse between
// neighbouring invocations that shared-memory tiling would make explicit,
// which suffices at this project's sizes (d_model ≤ 1024). 64 accumulators
// per invocation is the usual register budget of a GPU matmul thread.
// Loads past the edge of A or B read a clamped index instead of branching, and
// only the part of a block inside C is written.
// Rows of blocks run over the y and z workgroup counts, so m may exceed the
// 65535-workgroup limit of one dimension.
// Leaves out: shared-memory tiling for large products, split-k for long sums
// over few outputs (the weight gradients sum over b · l tokens), vectorised
// loads (the strided views are not 16-byte aligned in general) and f16.

struct Sizes {
  m: u32,
  n: u32,
  k: u32,
  accumulate: u32,
  aOffset: u32,
  aRowStride: u32,
  aColStride: u32,
  bOffset: u32,
  bRowStride: u32,
  bColStride: u32,
  cOffset: u32,
  cRowStride: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

// Invocations along the columns and the rows of C.
override WG_X: u32 = 8;
override WG_Y: u32 = 8;
// 8 columns per invocation when true, 4 when false; narrow products (n ≤ 4)
// skip the loads and multiply-adds of the second four.
override WIDE: bool = true;

const ROWS: u32 = 8u;

// Start offsets of four rows of A, clamped to the last row.
fn aStarts(row: u32) -> vec4u {
  let rows = min(vec4u(row, row + 1u, row + 2u, row + 3u), vec4u(sizes.m - 1u));
  return sizes.aOffset + rows * sizes.aRowStride;
}

// Start offsets of four columns of B, clamped to the last column.
fn bStarts(col: u32) -> vec4u {
  let cols = min(vec4u(col, col + 1u, col + 2u, col + 3u), vec4u(sizes.n - 1u));
  return sizes.bOffset + cols * sizes.bColStride;
}

fn loadB(starts: vec4u, offset: u32) -> vec4f {
  return vec4f(b[starts.x + offset], b[starts.y + offset], b[starts.z + offset], b[starts.w + offset]);
}

fn storeOne(row: u32, col: u32, value: f32) {
  if (col >= sizes.n) {
    return;
  }
  let o = sizes.cOffset + row * sizes.cRowStride + col;
  if (sizes.accumulate != 0u) {
    c[o] += value;
  } else {
    c[o] = value;
  }
}

// Writes the first four (or, when WIDE, eight) columns of one row of the block.
fn storeRow(row: u32, col: u32, low: vec4f, high: vec4f) {
  if (row >= sizes.m) {
    return;
  }
  storeOne(row, col, low.x);
  storeOne(row, col + 1u, low.y);
  storeOne(row, col + 2u, low.z);
  storeOne(row, col + 3u, low.w);
  if (WIDE) {
    storeOne(row, col + 4u, high.x);
    storeOne(row, col + 5u, high.y);
    storeOne(row, col + 6u, high.z);
    storeOne(row, col + 7u, high.w);
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
) {
  let cols = select(4u, 8u, WIDE);
  let row0 = ((wid.y + wid.z * nwg.y) * WG_Y + lid.y) * ROWS;
  let col0 = (wid.x * WG_X + lid.x) * cols;
  if (row0 >= sizes.m || col0 >= sizes.n) {
    return;
  }

  let aLow = aStarts(row0);
  let aHigh = aStarts(row0 + 4u);
  let bLow = bStarts(col0);
  let bHigh = bStarts(col0 + 4u);

  // cR and cRh hold columns 0..3 and 4..7 of row R of the block.
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  var c4 = vec4f(0.0);
  var c5 = vec4f(0.0);
  var c6 = vec4f(0.0);
  var c7 = vec4f(0.0);
  var c0h = vec4f(0.0);
  var c1h = vec4f(0.0);
  var c2h = vec4f(0.0);
  var c3h = vec4f(0.0);
  var c4h = vec4f(0.0);
  var c5h = vec4f(0.0);
  var c6h = vec4f(0.0);
  var c7h = vec4f(0.0);

  // aStep and bStep are p · aColStride and p · bRowStride.
  var aStep = 0u;
  var bStep = 0u;
  for (var p = 0u; p < sizes.k; p++) {
    let low = loadB(bLow, bStep);
    var high = vec4f(0.0);
    if (WIDE) {
      high = loadB(bHigh, bStep);
    }
    let a0 = a[aLow.x + aStep];
    let a1 = a[aLow.y + aStep];
    let a2 = a[aLow.z + aStep];
    let a3 = a[aLow.w + aStep];
    let a4 = a[aHigh.x + aStep];
    let a5 = a[aHigh.y + aStep];
    let a6 = a[aHigh.z + aStep];
    let a7 = a[aHigh.w + aStep];
    c0 += a0 * low;
    c1 += a1 * low;
    c2 += a2 * low;
    c3 += a3 * low;
    c4 += a4 * low;
    c5 += a5 * low;
    c6 += a6 * low;
    c7 += a7 * low;
    if (WIDE) {
      c0h += a0 * high;
      c1h += a1 * high;
      c2h += a2 * high;
      c3h += a3 * high;
      c4h += a4 * high;
      c5h += a5 * high;
      c6h += a6 * high;
      c7h += a7 * high;
    }
    aStep += sizes.aColStride;
    bStep += sizes.bRowStride;
  }

  storeRow(row0, col0, c0, c0h);
  storeRow(row0 + 1u, col0, c1, c1h);
  storeRow(row0 + 2u, col0, c2, c2h);
  storeRow(row0 + 3u, col0, c3, c3h);
  storeRow(row0 + 4u, col0, c4, c4h);
  storeRow(row0 + 5u, col0, c5, c5h);
  storeRow(row0 + 6u, col0, c6, c6h);
  storeRow(row0 + 7u, col0, c7, c7h);
}
