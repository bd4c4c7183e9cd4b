/**
 * Typed wrappers of the Transformer baseline's kernels: tiled causal attention
 * (attention.wgsl), attention that stores its probabilities (attention_naive.wgsl),
 * rotary embedding (rope.wgsl), absolute position embedding (position_embedding.wgsl)
 * and SwiGLU (swiglu.wgsl). As in kernels.ts, each
 * wrapper has the name and argument order of its CPU reference in
 * src/model/attentionOps.ts, preceded by the GpuContext, and returns dispatches
 * that can be encoded every step without new allocations.
 */
import { ROPE_BASE } from '../../model/attentionOps';
import {
  grid1d, spreadGroups, tensorOf, type Dispatch, type GpuContext, type KernelName, type TensorArg, type UniformField,
} from './context';
import { reduceRows, WORKGROUP_SIZE, type CallOptions } from './kernels';

function siteLabel(kernel: string, options: CallOptions | undefined, role: string): string {
  return options?.label ? `${kernel}: ${options.label} ${role}` : `${kernel}: ${role}`;
}

/** Builds one dispatch like the helper of the same name in kernels.ts, which that module keeps private. */
async function makeDispatch(
  ctx: GpuContext, name: KernelName, options: CallOptions | undefined, uniforms: UniformField[],
  buffers: GPUBuffer[], workgroups: [number, number, number], constants: Record<string, number> = {},
): Promise<Dispatch> {
  const kernel = await ctx.kernel(name, constants);
  const uniform = ctx.uniform(siteLabel(name, options, 'sizes'), uniforms);
  return {
    kind: 'dispatch',
    label: siteLabel(name, options, 'dispatch'),
    pipeline: kernel.pipeline,
    bindGroup: ctx.bindGroup(kernel, siteLabel(name, options, 'bind group'), [uniform, ...buffers]),
    workgroups,
  };
}

function checkSizes(kernel: string, sizes: Record<string, number>): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 1 || value > 0xffffffff) {
      throw new RangeError(`${kernel}: ${name} = ${value} is invalid: use a positive integer`);
    }
  }
}

// ---------------------------------------------------------------- tile sizes of attention.wgsl

/** Tile sizes and workgroup size of one attention.wgsl pass: its BR, BC and WG override constants. */
export interface AttentionTiles {
  /** Query rows per tile (BR). */
  queryRows: number;
  /** Key rows per tile (BC). */
  keyRows: number;
  /** Invocations per workgroup (WG). */
  workgroupSize: number;
}

export type AttentionPass = 'forward' | 'backward_dq' | 'backward_dkdv';

export type AttentionLimits = Pick<
  GPUSupportedLimits, 'maxComputeWorkgroupStorageSize' | 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX'
>;

/**
 * Largest tile side tried. Wider tiles leave fewer workgroups for the short
 * sequences of the playground, and on SwiftShader a 64-row tile takes seconds to compile.
 * NOTE: not tuned by measurement on GPU hardware.
 */
const MAX_TILE = 32;
/** Largest workgroup chosen, the WebGPU default of maxComputeInvocationsPerWorkgroup. */
const MAX_WORKGROUP = 256;

/**
 * Returns the bytes of workgroup memory that one pass of attention.wgsl uses,
 * from its workgroup arrays listed in floats. Each array is rounded up to 16 bytes, an allowance
 * for alignment padding that an implementation may add.
 */
export function attentionWorkgroupBytes(pass: AttentionPass, tiles: Pick<AttentionTiles, 'queryRows' | 'keyRows'>, headDim: number): number {
  const { queryRows: br, keyRows: bc } = tiles;
  // Tile rows are vec4s, so head_dim is padded up to a multiple of 4.
  const d = Math.ceil(headDim / 4) * 4;
  const arrays: Record<AttentionPass, number[]> = {
    // qTile, rowAcc, kTile (K, then V), sTile, rowMax, rowSum, rowScale
    forward: [br * d, br * d, bc * d, br * bc, br, br, br],
    // qTile, doTile, rowAcc, kTile, vTile, sTile, rowLse, rowDot
    backward_dq: [br * d, br * d, br * d, bc * d, bc * d, br * bc, br, br],
    // qTile, doTile, kTile, vTile, dkAcc, dvAcc, sTile, pTile, rowLse, rowDot
    backward_dkdv: [br * d, br * d, bc * d, bc * d, bc * d, bc * d, br * bc, br * bc, br, br],
  };
  return arrays[pass].reduce((sum, floats) => sum + Math.ceil((floats * 4) / 16) * 16, 0);
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function workgroupSizeFor(scoresPerTile: number, limits: AttentionLimits): number {
  const cap = Math.min(MAX_WORKGROUP, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  return Math.min(cap, Math.max(WORKGROUP_SIZE, scoresPerTile));
}

/**
 * Chooses square tiles for one pass: the largest power-of-two side up to 32 whose
 * workgroup arrays fit maxComputeWorkgroupStorageSize, and no longer than the
 * sequence needs. The workgroup has one invocation per score of a tile, at least
 * 64 and at most 256 or the device's invocation limit.
 */
export function chooseAttentionTiles(limits: AttentionLimits, pass: AttentionPass, headDim: number, l: number): AttentionTiles {
  const budget = limits.maxComputeWorkgroupStorageSize;
  for (let side = Math.min(MAX_TILE, nextPowerOfTwo(l)); side >= 1; side /= 2) {
    const tiles = { queryRows: side, keyRows: side };
    if (attentionWorkgroupBytes(pass, tiles, headDim) <= budget) {
      return { ...tiles, workgroupSize: workgroupSizeFor(side * side, limits) };
    }
  }
  const needed = attentionWorkgroupBytes(pass, { queryRows: 1, keyRows: 1 }, headDim);
  throw new RangeError(
    `attention ${pass} with head_dim = ${headDim} needs ${needed} bytes of workgroup memory even with one-row tiles, ` +
    `over this device's maxComputeWorkgroupStorageSize of ${budget}: use more heads or a smaller d_model`,
  );
}

/** Options of the tiled attention wrappers. */
export interface AttentionOptions extends CallOptions {
  /** Tiles of some passes in place of chooseAttentionTiles' choice, for tests and benchmarks. */
  tiles?: Partial<Record<AttentionPass, AttentionTiles>>;
}

function tilesFor(ctx: GpuContext, pass: AttentionPass, headDim: number, l: number, options: AttentionOptions | undefined): AttentionTiles {
  const limits = ctx.device.limits;
  const forced = options?.tiles?.[pass];
  if (!forced) return chooseAttentionTiles(limits, pass, headDim, l);

  checkSizes(`attention ${pass} tiles`, { ...forced });
  const bytes = attentionWorkgroupBytes(pass, forced, headDim);
  if (bytes > limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `attention ${pass} tiles of ${forced.queryRows} × ${forced.keyRows} with head_dim = ${headDim} need ${bytes} bytes of ` +
      `workgroup memory, over this device's maxComputeWorkgroupStorageSize of ${limits.maxComputeWorkgroupStorageSize}: use smaller tiles`,
    );
  }
  if (forced.workgroupSize > Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX)) {
    throw new RangeError(`attention ${pass}: workgroupSize = ${forced.workgroupSize} exceeds this device's invocation limit: use a smaller workgroupSize`);
  }
  return forced;
}

/** Returns the workgroup grid (tiles along l, n_head, b), checked against the device's per-dimension limit. */
function tileGrid(ctx: GpuContext, kernel: string, tileRows: number, b: number, l: number, nHead: number): [number, number, number] {
  const grid: [number, number, number] = [Math.ceil(l / tileRows), nHead, b];
  const max = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  if (grid.some((n) => n > max)) {
    throw new RangeError(`${kernel} over b = ${b}, l = ${l}, n_head = ${nHead} exceeds this device's dispatch limit of ${max} workgroups per dimension: reduce batch_size or seq_len`);
  }
  return grid;
}

function tileConstants(tiles: AttentionTiles, headDim: number): Record<string, number> {
  return { HEAD_DIM: headDim, BR: tiles.queryRows, BC: tiles.keyRows, WG: tiles.workgroupSize };
}

// ---------------------------------------------------------------- tiled attention

/**
 * Computes out (b, l, n_head·head_dim) and lse (b, n_head, l) from q, k, v
 * (b, l, n_head·head_dim), causal, without storing the l × l scores.
 */
export function attentionForward(
  ctx: GpuContext, out: GPUBuffer, lse: GPUBuffer, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer,
  b: number, l: number, nHead: number, headDim: number, options?: AttentionOptions,
): Promise<Dispatch> {
  checkSizes('attention_forward', { b, l, nHead, headDim });
  const tiles = tilesFor(ctx, 'forward', headDim, l, options);
  return makeDispatch(ctx, 'attention_forward', options, [b, l, nHead, { f32: 1 / Math.sqrt(headDim) }],
    [out, lse, q, k, v], tileGrid(ctx, 'attention_forward', tiles.queryRows, b, l, nHead), tileConstants(tiles, headDim));
}

/**
 * Computes dq, dk, dv (b, l, n_head·head_dim), overwritten, as two dispatches that must run
 * in order: the dq pass also writes dDot = Σ dout ⊙ out per row (b, n_head, l)
 * into a buffer that this call creates, and the dk/dv pass reads it.
 */
export async function attentionBackward(
  ctx: GpuContext, dq: GPUBuffer, dk: GPUBuffer, dv: GPUBuffer, dout: GPUBuffer, q: GPUBuffer, k: GPUBuffer,
  v: GPUBuffer, out: GPUBuffer, lse: GPUBuffer, b: number, l: number, nHead: number, headDim: number,
  options?: AttentionOptions,
): Promise<Dispatch[]> {
  checkSizes('attention_backward', { b, l, nHead, headDim });
  const dqTiles = tilesFor(ctx, 'backward_dq', headDim, l, options);
  const dkdvTiles = tilesFor(ctx, 'backward_dkdv', headDim, l, options);
  const uniforms: UniformField[] = [b, l, nHead, { f32: 1 / Math.sqrt(headDim) }];
  const dDot = ctx.createStorage(siteLabel('attention_backward_dq', options, 'dDot'), b * nHead * l);
  return [
    await makeDispatch(ctx, 'attention_backward_dq', options, uniforms, [dq, dDot, q, k, v, dout, lse, out],
      tileGrid(ctx, 'attention_backward_dq', dqTiles.queryRows, b, l, nHead), tileConstants(dqTiles, headDim)),
    await makeDispatch(ctx, 'attention_backward_dkdv', options, uniforms, [dk, dv, q, k, v, dout, lse, dDot],
      tileGrid(ctx, 'attention_backward_dkdv', dkdvTiles.keyRows, b, l, nHead), tileConstants(dkdvTiles, headDim)),
  ];
}

// ---------------------------------------------------------------- naive attention

/** Returns the float count of the (b, n_head, l, l) probability matrix of the naive kernels. */
export function attentionNaiveProbsFloats(b: number, l: number, nHead: number): number {
  return b * nHead * l * l;
}

function naiveUniforms(kernel: string, probs: GPUBuffer, b: number, l: number, nHead: number, headDim: number): UniformField[] {
  checkSizes(kernel, { b, l, nHead, headDim });
  const floats = attentionNaiveProbsFloats(b, l, nHead);
  if (floats > 0xffffffff) {
    throw new RangeError(`${kernel}: the probability matrix of ${floats} floats exceeds the kernel's 32-bit indices: reduce batch_size or seq_len`);
  }
  if (probs.size < floats * 4) {
    throw new RangeError(`${kernel}: probs has ${probs.size} bytes but (b, n_head, l, l) = (${b}, ${nHead}, ${l}, ${l}) needs ${floats * 4}: size it with attentionNaiveProbsFloats`);
  }
  return [b, l, nHead, headDim, { f32: 1 / Math.sqrt(headDim) }, 0, 0, 0];
}

/**
 * Computes out (b, l, n_head·head_dim), lse (b, n_head, l) and probs (b, n_head, l, l),
 * the softmax probabilities that attentionNaiveBackward reads, as three dispatches.
 */
export async function attentionNaiveForward(
  ctx: GpuContext, out: GPUBuffer, lse: GPUBuffer, probs: GPUBuffer, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer,
  b: number, l: number, nHead: number, headDim: number, options?: CallOptions,
): Promise<Dispatch[]> {
  const uniforms = naiveUniforms('attention_naive_forward', probs, b, l, nHead, headDim);
  const { device } = ctx;
  return [
    await makeDispatch(ctx, 'attention_naive_scores', options, uniforms, [probs, q, k],
      grid1d(device, attentionNaiveProbsFloats(b, l, nHead), WORKGROUP_SIZE)),
    await makeDispatch(ctx, 'attention_naive_softmax', options, uniforms, [probs, lse],
      spreadGroups(device, b * nHead * l, 'attention rows')),
    await makeDispatch(ctx, 'attention_naive_output', options, uniforms, [out, probs, v],
      grid1d(device, b * l * nHead * headDim, WORKGROUP_SIZE)),
  ];
}

/**
 * Computes dq, dk, dv (b, l, n_head·head_dim), overwritten, through the stored probabilities,
 * as four dispatches. probs is overwritten with dS, so each backward needs the
 * forward's dispatches to run again first.
 */
export async function attentionNaiveBackward(
  ctx: GpuContext, dq: GPUBuffer, dk: GPUBuffer, dv: GPUBuffer, dout: GPUBuffer, q: GPUBuffer, k: GPUBuffer,
  v: GPUBuffer, out: GPUBuffer, probs: GPUBuffer, b: number, l: number, nHead: number, headDim: number,
  options?: CallOptions,
): Promise<Dispatch[]> {
  const uniforms = naiveUniforms('attention_naive_backward', probs, b, l, nHead, headDim);
  const { device } = ctx;
  const elements = grid1d(device, b * l * nHead * headDim, WORKGROUP_SIZE);
  return [
    await makeDispatch(ctx, 'attention_naive_backward_dv', options, uniforms, [dv, probs, dout], elements),
    await makeDispatch(ctx, 'attention_naive_backward_ds', options, uniforms, [probs, dout, out, v],
      spreadGroups(device, b * nHead * l, 'attention rows')),
    await makeDispatch(ctx, 'attention_naive_backward_dq', options, uniforms, [dq, probs, k], elements),
    await makeDispatch(ctx, 'attention_naive_backward_dk', options, uniforms, [dk, probs, q], elements),
  ];
}

// ---------------------------------------------------------------- rotary embedding

/**
 * Returns the cosine and sine of every (t, i) angle t · base^(−2i / head_dim), as (l, half, 2)
 * floats, computed in double precision with the same expression as ropeRow.
 */
export function ropeTable(l: number, headDim: number): Float32Array {
  const half = headDim >> 1;
  const table = new Float32Array(l * half * 2);
  for (let t = 0; t < l; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * Math.pow(ROPE_BASE, (-2 * i) / headDim);
      table[(t * half + i) * 2] = Math.cos(angle);
      table[(t * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return table;
}

/**
 * Rotates x into out (b, l, n_head·head_dim) by position; with inverse = true the
 * rotation turns back, which is also the backward pass. out may be x itself. Each
 * call uploads its own cosine and sine table of l · floor(head_dim / 2) · 2 floats.
 */
export function ropeForward(
  ctx: GpuContext, out: GPUBuffer, x: GPUBuffer, b: number, l: number, nHead: number, headDim: number,
  inverse = false, options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('rope_forward', { b, l, nHead, headDim });
  const inPlace = out === x;
  const name: KernelName = inPlace ? 'rope_forward_in_place' : 'rope_forward';
  const table = ctx.upload(siteLabel(name, options, 'cos/sin table'), ropeTable(l, headDim));
  const pairs = b * l * nHead * Math.ceil(headDim / 2);
  return makeDispatch(ctx, name, options, [b, l, nHead, headDim, inverse ? 1 : 0, 0, 0, 0],
    inPlace ? [table, out] : [table, out, x], grid1d(ctx.device, pairs, WORKGROUP_SIZE));
}

// ---------------------------------------------------------------- absolute position embedding

/** Adds W[t] (W is (max_len, dim) inside the parameter buffer) to row t of each sequence of out (b, l, dim). */
export function positionEmbeddingForward(
  ctx: GpuContext, out: GPUBuffer, W: TensorArg, b: number, l: number, dim: number, options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('position_embedding_forward', { b, l, dim });
  const w = tensorOf(W);
  return makeDispatch(ctx, 'position_embedding_forward', options, [b, l, dim, w.offset], [out, w.buffer],
    grid1d(ctx.device, b * l * dim, WORKGROUP_SIZE));
}

/** dW[t] += Σ over the batch of dOut[·, t]: reduce_rows over dOut viewed as (b, l · dim). */
export function positionEmbeddingBackward(
  ctx: GpuContext, dW: TensorArg, dOut: GPUBuffer, b: number, l: number, dim: number, options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('position_embedding_backward', { b, l, dim });
  return reduceRows(ctx, dW, dOut, null, b, l * dim, options);
}

// ---------------------------------------------------------------- SwiGLU

/** Computes out = SiLU(gate) ⊙ up over n elements. */
export function swigluForward(
  ctx: GpuContext, out: GPUBuffer, gate: GPUBuffer, up: GPUBuffer, n: number, options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('swiglu_forward', { n });
  return makeDispatch(ctx, 'swiglu_forward', options, [n, 0, 0, 0], [out, gate, up], grid1d(ctx.device, n, WORKGROUP_SIZE));
}

/** Computes dGate = dout ⊙ up ⊙ SiLU'(gate) and dUp = dout ⊙ SiLU(gate), both overwritten. */
export function swigluBackward(
  ctx: GpuContext, dGate: GPUBuffer, dUp: GPUBuffer, dout: GPUBuffer, gate: GPUBuffer, up: GPUBuffer, n: number,
  options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('swiglu_backward', { n });
  return makeDispatch(ctx, 'swiglu_backward', options, [n, 0, 0, 0], [dGate, dUp, dout, gate, up],
    grid1d(ctx.device, n, WORKGROUP_SIZE));
}
