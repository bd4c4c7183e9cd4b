// Decoding with a KV cache: one new query per batch row attends over the
// `length` cached keys and values of every head, causal by construction
// (CPU reference: attentionDecode in src/model/kvcache.ts, which
// TransformerDecoder runs after rotating q and k and appending k and v).
//
//   attention_decode_append:  q ← RoPE(q, position),  kCache[position] = RoPE(k, position),
//                             vCache[position] = v
//   attention_decode_partial: per chunk c of CHUNK cached rows, with s_j = q · k_j · scale,
//                             m_c = max_j s_j,  l_c = Σ_j exp(s_j − m_c),  acc_c = Σ_j exp(s_j − m_c) v_j
//   attention_decode_combine: M = max_c m_c,
//                             out = Σ_c exp(m_c − M) acc_c / Σ_c exp(m_c − M) l_c
//
// Splitting the cache into chunks, as FlashDecoding does (Dao et al., "Flash-Decoding
// for long-context inference", 2023), gives ⌈length / CHUNK⌉ · n_head · b
// workgroups, where one workgroup per head would leave a GPU idle at batch 1.
//
// Shapes, row-major: q, k, v and out are (b, n_head · head_dim), and head h owns
// columns [h · head_dim, (h + 1) · head_dim). kCache and vCache are
// (b, capacity, n_head · head_dim). partials is (b, n_head, chunks, head_dim + 2),
// each row holding m_c, l_c and then acc_c. rope contains the cosine and sine of
// each angle position · base^(−2i / head_dim) of the current position, as
// (⌊head_dim / 2⌋, 2) floats that the host computes in double precision, since the
// WGSL specification bounds the error of f32 sin and cos only inside [−π, π].
// position and length = position + 1 come from a uniform that the host rewrites
// before each step, so the same dispatches serve every step up to capacity.
// An odd head_dim leaves the last column of q and k unrotated.
// Leaves out: batch rows of different lengths, grouped-query heads, f16 caches
// and subgroup operations.

struct Sizes {
  b: u32,
  capacity: u32,
  nHead: u32,
  // Chunks per (batch row, head) in partials: ⌈capacity / CHUNK⌉.
  chunks: u32,
  // 1/√head_dim, computed on the host in double precision and rounded once.
  scale: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

struct Position {
  position: u32,
  length: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<uniform> step: Position;

// attention_decode_append
@group(0) @binding(2) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(3) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(4) var<storage, read_write> q: array<f32>;
@group(0) @binding(5) var<storage, read> k: array<f32>;
@group(0) @binding(6) var<storage, read> v: array<f32>;
@group(0) @binding(7) var<storage, read> rope: array<f32>;

// attention_decode_partial
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read> qIn: array<f32>;
@group(0) @binding(4) var<storage, read> kCacheIn: array<f32>;
@group(0) @binding(5) var<storage, read> vCacheIn: array<f32>;

// attention_decode_combine
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> partialsIn: array<f32>;

override WG: u32 = 64;
override HEAD_DIM: u32 = 16;
// Cached rows per workgroup of attention_decode_partial.
override CHUNK: u32 = 256;

// Below every finite score, and finite so that exp(m − M) stays defined.
const LOWEST: f32 = -3.0e38;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn width() -> u32 {
  return sizes.nHead * HEAD_DIM;
}

// One invocation per element of (b, n_head · head_dim). The invocation of an even
// column within a head rotates that column and the next; odd columns copy only v.
@compute @workgroup_size(WG)
fn attention_decode_append(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let d = width();
  if (i >= sizes.b * d) {
    return;
  }
  let row = i / d;
  let column = i % d;
  let e = column % HEAD_DIM;
  let cached = (row * sizes.capacity + step.position) * d + column;
  vCache[cached] = v[i];
  if (e % 2u == 1u) {
    return;
  }
  if (e + 1u == HEAD_DIM) {
    kCache[cached] = k[i];
    return;
  }
  let c = rope[e];
  let s = rope[e + 1u];
  let q0 = q[i];
  let q1 = q[i + 1u];
  q[i] = q0 * c - q1 * s;
  q[i + 1u] = q0 * s + q1 * c;
  let k0 = k[i];
  let k1 = k[i + 1u];
  kCache[cached] = k0 * c - k1 * s;
  kCache[cached + 1u] = k0 * s + k1 * c;
}

var<workgroup> qTile: array<f32, HEAD_DIM>;
var<workgroup> scores: array<f32, CHUNK>;
var<workgroup> reduction: array<f32, WG>;

// Workgroup (chunk, head, batch row). WG must be a power of two for the tree reductions.
@compute @workgroup_size(WG)
fn attention_decode_partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x;
  let head = wid.y;
  let row = wid.z;
  let start = chunk * CHUNK;
  // The whole workgroup leaves together, because start and length are uniform.
  if (start >= step.length) {
    return;
  }
  let count = min(CHUNK, step.length - start);
  let d = width();
  let headColumn = head * HEAD_DIM;

  for (var e = lid; e < HEAD_DIM; e += WG) {
    qTile[e] = qIn[row * d + headColumn + e];
  }
  workgroupBarrier();

  // Scores of this invocation's rows, and their max.
  var localMax = LOWEST;
  for (var j = lid; j < count; j += WG) {
    let key = (row * sizes.capacity + start + j) * d + headColumn;
    var dot = 0.0;
    for (var e = 0u; e < HEAD_DIM; e++) {
      dot += qTile[e] * kCacheIn[key + e];
    }
    let score = dot * sizes.scale;
    scores[j] = score;
    localMax = max(localMax, score);
  }
  reduction[lid] = localMax;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      reduction[lid] = max(reduction[lid], reduction[lid + stride]);
    }
    workgroupBarrier();
  }
  let chunkMax = reduction[0];
  workgroupBarrier();

  var localSum = 0.0;
  for (var j = lid; j < count; j += WG) {
    let p = exp(scores[j] - chunkMax);
    scores[j] = p;
    localSum += p;
  }
  reduction[lid] = localSum;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      reduction[lid] += reduction[lid + stride];
    }
    workgroupBarrier();
  }

  // Neighbouring invocations read neighbouring columns of each value row.
  let base = ((row * sizes.nHead + head) * sizes.chunks + chunk) * (HEAD_DIM + 2u);
  for (var e = lid; e < HEAD_DIM; e += WG) {
    var acc = 0.0;
    for (var j = 0u; j < count; j++) {
      acc += scores[j] * vCacheIn[(row * sizes.capacity + start + j) * d + headColumn + e];
    }
    partials[base + 2u + e] = acc;
  }
  if (lid == 0u) {
    partials[base] = chunkMax;
    partials[base + 1u] = reduction[0];
  }
}

// One invocation per element of out (b, n_head · head_dim).
@compute @workgroup_size(WG)
fn attention_decode_combine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let d = width();
  if (i >= sizes.b * d) {
    return;
  }
  let row = i / d;
  let head = (i % d) / HEAD_DIM;
  let e = i % HEAD_DIM;
  let used = (step.length + CHUNK - 1u) / CHUNK;
  let first = (row * sizes.nHead + head) * sizes.chunks;

  var m = LOWEST;
  for (var c = 0u; c < used; c++) {
    m = max(m, partialsIn[(first + c) * (HEAD_DIM + 2u)]);
  }
  var total = 0.0;
  var acc = 0.0;
  for (var c = 0u; c < used; c++) {
    let base = (first + c) * (HEAD_DIM + 2u);
    let weight = exp(partialsIn[base] - m);
    total += weight * partialsIn[base + 1u];
    acc += weight * partialsIn[base + 2u + e];
  }
  out[i] = acc / total;
}
