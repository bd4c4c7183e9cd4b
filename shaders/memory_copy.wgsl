// A copy that moves a chosen number of bytes: the bandwidth reference of the
// scan benchmark (src/bench/scanBench.ts). It reads every element of src once
// and writes every element of dst once, in vec4f units:
//
//   dst[i] = Σ_k src[i + k · dstCount] over the k with i + k · dstCount < srcCount
//
// so src may be longer than dst, and every read feeds a write that the compiler
// cannot drop. Neighbouring invocations touch neighbouring vec4f in both arrays.
// Leaves out: anything but the bytes, since the result has no use.

struct Sizes {
  srcCount: u32,
  dstCount: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@group(0) @binding(2) var<storage, read> src: array<vec4f>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn memory_copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= sizes.dstCount) {
    return;
  }
  var total = vec4f(0.0);
  for (var j = i; j < sizes.srcCount; j += sizes.dstCount) {
    total += src[j];
  }
  dst[i] = total;
}
