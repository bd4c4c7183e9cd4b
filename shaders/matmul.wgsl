// Tiled matrix product over strided views (CPU reference: matmulForward and
// matmulBackward in src/model/ops.ts, which are both instances of it):
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
// Each workgroup computes a TILE × TILE block of C, staging TILE × TILE tiles of
// A and B in workgroup memory; each invocation owns one element of C.
// Rows of tiles run over the y and z workgroup counts, so m may exceed the
// 65535-workgroup limit of one dimension.
// Leaves out: register blocking, vectorised loads and f16; strided reads of A or B
// do not coalesce.

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

override TILE: u32 = 8;

var<workgroup> aTile: array<f32, TILE * TILE>;
var<workgroup> bTile: array<f32, TILE * TILE>;

@compute @workgroup_size(TILE, TILE)
fn matmul(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
) {
  let row = (wid.y + wid.z * nwg.y) * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  var acc = 0.0;
  let tiles = (sizes.k + TILE - 1u) / TILE;
  for (var tile = 0u; tile < tiles; tile++) {
    // This invocation loads A[row, p] and B[q, col] with p and q inside the tile.
    let p = tile * TILE + lid.x;
    var av = 0.0;
    if (row < sizes.m && p < sizes.k) {
      av = a[sizes.aOffset + row * sizes.aRowStride + p * sizes.aColStride];
    }
    aTile[lid.y * TILE + lid.x] = av;

    let q = tile * TILE + lid.y;
    var bv = 0.0;
    if (q < sizes.k && col < sizes.n) {
      bv = b[sizes.bOffset + q * sizes.bRowStride + col * sizes.bColStride];
    }
    bTile[lid.y * TILE + lid.x] = bv;
    workgroupBarrier();

    for (var s = 0u; s < TILE; s++) {
      acc += aTile[lid.y * TILE + s] * bTile[s * TILE + lid.x];
    }
    workgroupBarrier();
  }

  if (row < sizes.m && col < sizes.n) {
    let o = sizes.cOffset + row * sizes.cRowStride + col;
    if (sizes.accumulate != 0u) {
      c[o] += acc;
    } else {
      c[o] = acc;
    }
  }
}
