// Sum reductions that feed the optimizer and the metrics, all without atomics:
//
//   reduce_rows:            out[outOffset + j] += Σ_r a[aOffset + r·cols + j] · b[r, j]
//       (b = 1 when useB is 0). a and b are (rows, cols) row-major, a from
//       float aOffset. Used for the gradients of D, dt_proj.bias, A_log and fixed
//       B and C, which are sums over tokens or over the batch. One invocation
//       sums one column, so neighbouring invocations read neighbouring floats.
//   sum_of_squares_partial: partials[i] = Σ grads[j]² over j = i, i + P, i + 2P, …
//       for P = partialCount invocations (CPU reference: sumOfSquares in
//       src/model/ops.ts).
//   clip_scale:             clip[0] = min(1, gradClip / (‖g‖ + 1e-6)), or 1 when
//       gradClip is 0; clip[1] = ‖g‖. One workgroup sums the partials, so the
//       global-norm clip needs no readback (clipScale in src/model/optimizer.ts).
//   metrics_accumulate:     metrics += (Σ lossRows, Σ correct, Σ mask, 1), for
//       readMetrics; the buffer keeps summing over steps until the host clears it.
//
// reduce_rows and sum_of_squares_partial use no workgroup memory and no
// barrier. SwiftShader runs a shader that has a barrier as one coroutine per
// 4-lane subgroup, switching at every barrier, so a tree reduction in every
// one of hundreds of workgroups cost more than the sums.
// Only the single-workgroup passes, clip_scale and metrics_accumulate, add
// strided partial sums of WG invocations in workgroup memory.
// NOTE: reduce_rows is parallel over columns only, so a reduction over many
// rows and few columns runs long loops on few invocations; at this project's
// sizes (at most b · l rows and d_inner · d_state columns) it stays small.
// Leaves out: Kahan or pairwise summation across partial sums.

struct Sizes {
  rows: u32,
  cols: u32,
  outOffset: u32,
  useB: u32,
  aOffset: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

struct NormSizes {
  count: u32,
  partialCount: u32,
  gradClip: f32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(0) var<uniform> normSizes: NormSizes;

// reduce_rows
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

// sum_of_squares_partial
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;

// clip_scale
@group(0) @binding(1) var<storage, read_write> clip: array<f32>;
@group(0) @binding(2) var<storage, read> partialsIn: array<f32>;

// metrics_accumulate: sizes.rows is the number of token rows.
@group(0) @binding(1) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(2) var<storage, read> lossRows: array<f32>;
@group(0) @binding(3) var<storage, read> correct: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;

// Must be a power of two for the tree reductions.
override WG: u32 = 64;

var<workgroup> partial: array<f32, WG>;
var<workgroup> partial3: array<vec3f, WG>;

// Leaves the sum of every lane's `partial` in partial[0]; all lanes must call it.
fn reduceWorkgroup(lane: u32) {
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partial[lane] += partial[lane + stride];
    }
    workgroupBarrier();
  }
}

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// One invocation per column j.
@compute @workgroup_size(WG)
fn reduce_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flatIndex(gid, nwg);
  let cols = sizes.cols;
  if (j >= cols) {
    return;
  }
  var acc = 0.0;
  var o = j;
  if (sizes.useB != 0u) {
    for (var r = 0u; r < sizes.rows; r++) {
      acc += a[sizes.aOffset + o] * b[o];
      o += cols;
    }
  } else {
    for (var r = 0u; r < sizes.rows; r++) {
      acc += a[sizes.aOffset + o];
      o += cols;
    }
  }
  out[sizes.outOffset + j] += acc;
}

// One invocation per partial sum, normSizes.partialCount in all.
@compute @workgroup_size(WG)
fn sum_of_squares_partial(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  let stride = normSizes.partialCount;
  if (i >= stride) {
    return;
  }
  var acc = 0.0;
  for (var j = i; j < normSizes.count; j += stride) {
    acc += grads[j] * grads[j];
  }
  partials[i] = acc;
}

// Dispatched as one workgroup.
@compute @workgroup_size(WG)
fn clip_scale(@builtin(local_invocation_index) lane: u32) {
  var acc = 0.0;
  for (var i = lane; i < normSizes.partialCount; i += WG) {
    acc += partialsIn[i];
  }
  partial[lane] = acc;
  reduceWorkgroup(lane);
  if (lane == 0u) {
    let norm = sqrt(partial[0]);
    var scale = 1.0;
    if (normSizes.gradClip > 0.0) {
      scale = min(1.0, normSizes.gradClip / (norm + 1e-6));
    }
    clip[0] = scale;
    clip[1] = norm;
  }
}

// Dispatched as one workgroup.
@compute @workgroup_size(WG)
fn metrics_accumulate(@builtin(local_invocation_index) lane: u32) {
  var acc = vec3f(0.0);
  for (var r = lane; r < sizes.rows; r += WG) {
    acc += vec3f(lossRows[r], correct[r], mask[r]);
  }
  partial3[lane] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partial3[lane] += partial3[lane + stride];
    }
    workgroupBarrier();
  }
  if (lane == 0u) {
    metrics[0] += partial3[0].x;
    metrics[1] += partial3[0].y;
    metrics[2] += partial3[0].z;
    metrics[3] += 1.0;
  }
}
