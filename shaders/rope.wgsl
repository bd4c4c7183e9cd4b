// Rotary position embedding (Su et al., "RoFormer: Enhanced Transformer with
// Rotary Position Embedding", 2021; CPU reference: ropeForward in
// src/model/attentionOps.ts). Each head's column pairs (2i, 2i + 1) of the token
// at position t turn by the angle t · base^(−2i / head_dim):
//
//   out[2i]     = x[2i] · cos − x[2i + 1] · sin
//   out[2i + 1] = x[2i] · sin + x[2i + 1] · cos
//
// With inverse = 1 the rotation turns by the negative angle. That is also the
// backward pass, because a rotation's transpose is its inverse.
// Shapes, row-major: x and out are (b, l, n_head · head_dim), and head h owns
// columns [h · head_dim, (h + 1) · head_dim) of each row. table is (l, half, 2)
// with half = floor(head_dim / 2): the cosine and sine of each (t, i) angle,
// computed by the host in double precision. The WGSL specification's accuracy
// table bounds f32 sin and cos only to an absolute error of 2^−11, and only
// inside [−π, π].
// An odd head_dim leaves its last column unrotated (copied by rope_forward).
// rope_forward writes out from x; rope_forward_in_place rotates x itself, since
// one buffer cannot be bound as both read-only and read-write storage.
// Leaves out: partial rotation of a prefix of the head and position scaling.

struct Sizes {
  b: u32,
  l: u32,
  nHead: u32,
  headDim: u32,
  // 1 turns by the negative angle.
  inverse: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> table: array<f32>;

// rope_forward
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;

// rope_forward_in_place
@group(0) @binding(2) var<storage, read_write> data: array<f32>;

override WG: u32 = 64;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// One column pair of one head of one token.
struct Pair {
  // Float offset of column 2i.
  offset: u32,
  // Row of table: t · half + i.
  angle: u32,
  // Whether this is the lone last column of an odd head_dim.
  single: bool,
}

// Maps an invocation to (token, head, i) over b · l · n_head · ceil(head_dim / 2) pairs.
fn pairOf(index: u32) -> Pair {
  let pairs = (sizes.headDim + 1u) / 2u;
  let half = sizes.headDim / 2u;
  let i = index % pairs;
  let head = (index / pairs) % sizes.nHead;
  let token = index / (pairs * sizes.nHead);
  let t = token % sizes.l;
  let offset = token * sizes.nHead * sizes.headDim + head * sizes.headDim + 2u * i;
  return Pair(offset, t * half + i, 2u * i + 1u == sizes.headDim);
}

fn pairCount() -> u32 {
  return sizes.b * sizes.l * sizes.nHead * ((sizes.headDim + 1u) / 2u);
}

// Rotates (x0, x1) by the angle of table row `angle`, or by its negative when inverse is 1.
fn rotate(value: vec2f, angle: u32) -> vec2f {
  let c = table[2u * angle];
  let s = select(table[2u * angle + 1u], -table[2u * angle + 1u], sizes.inverse == 1u);
  return vec2f(value.x * c - value.y * s, value.x * s + value.y * c);
}

@compute @workgroup_size(WG)
fn rope_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let index = flatIndex(gid, nwg);
  if (index >= pairCount()) {
    return;
  }
  let pair = pairOf(index);
  if (pair.single) {
    out[pair.offset] = x[pair.offset];
    return;
  }
  let rotated = rotate(vec2f(x[pair.offset], x[pair.offset + 1u]), pair.angle);
  out[pair.offset] = rotated.x;
  out[pair.offset + 1u] = rotated.y;
}

@compute @workgroup_size(WG)
fn rope_forward_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let index = flatIndex(gid, nwg);
  if (index >= pairCount()) {
    return;
  }
  let pair = pairOf(index);
  if (pair.single) {
    return;
  }
  let rotated = rotate(vec2f(data[pair.offset], data[pair.offset + 1u]), pair.angle);
  data[pair.offset] = rotated.x;
  data[pair.offset + 1u] = rotated.y;
}
