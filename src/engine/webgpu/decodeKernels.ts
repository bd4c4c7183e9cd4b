/**
 * Typed wrappers of the decoding kernels, one new token per batch row: the
 * Mamba mixer's recurrent step (mamba_step.wgsl, CPU reference conv1dSiluStep
 * and selectiveScanStep in src/model/recurrent.ts) and attention over a KV
 * cache (attention_decode.wgsl, CPU reference attentionDecode in
 * src/model/kvcache.ts). As in kernels.ts, each wrapper has the name and the
 * argument order of its CPU reference, preceded by the GpuContext, and returns
 * dispatches that can be encoded every step without new allocations.
 */
import { ROPE_BASE } from '../../model/attentionOps';
import { grid1d, tensorOf, type Dispatch, type GpuContext, type TensorArg } from './context';
import { makeDispatch, sameBuffer, SCAN_MAX_STATE, WORKGROUP_SIZE, type CallOptions } from './kernels';

function checkSizes(kernel: string, sizes: Record<string, number>): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 1 || value > 0xffffffff) {
      throw new RangeError(`${kernel}: ${name} = ${value} is invalid: use a positive integer`);
    }
  }
}

// ---------------------------------------------------------------- Mamba recurrent step

/** Largest d_conv of conv1d_silu_step, the same as the sequence kernel's. */
export const CONV_STEP_MAX_WIDTH = 8;

/**
 * Shifts each window of convState (b, d, k) left by one, appends x (b, d) and
 * writes u (b, d) = SiLU(bias + Σ_j w[j] · window[j]). w (d, 1, k) and bias (d)
 * share the parameter buffer.
 */
export function conv1dSiluStep(
  ctx: GpuContext, u: GPUBuffer, convState: GPUBuffer, x: GPUBuffer, w: TensorArg, bias: TensorArg,
  b: number, d: number, k: number, options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('conv1d_silu_step', { b, d, k });
  if (k > CONV_STEP_MAX_WIDTH) throw new RangeError(`conv1d_silu_step: d_conv = ${k} is out of range: use a width from 1 to ${CONV_STEP_MAX_WIDTH}`);
  const weight = tensorOf(w);
  const biasTensor = tensorOf(bias);
  const params = sameBuffer('conv1d weight and bias', [weight, biasTensor]);
  return makeDispatch(ctx, 'conv1d_silu_step', options, [b, d, 0, k, 0, 0, 0, weight.offset, biasTensor.offset, 0, 0, 0],
    [convState, u, x, params], grid1d(ctx.device, b * d, WORKGROUP_SIZE));
}

/** Sizes of one scan step, and where B and C sit in the rows of x_proj's output. */
export interface ScanStepShape {
  b: number;
  d: number;
  n: number;
  /** Floats per row of xdbl, dt_rank + 2 · d_state in the model. */
  rowStride: number;
  /** Column of B[0] within a row; dt_rank in the model. */
  bColumn: number;
  /** Column of C[0] within a row; dt_rank + d_state in the model. */
  cColumn: number;
}

/** Inputs of one scan step, each (b, d) except xdbl (b, rowStride); A_log, D and deltaBias are tensors of one parameter buffer. */
export interface ScanStepTensors {
  u: GPUBuffer;
  /** Δ before bias and softplus. */
  deltaRaw: GPUBuffer;
  xdbl: GPUBuffer;
  z: GPUBuffer;
  A_log: TensorArg;
  D: TensorArg;
  deltaBias: TensorArg;
}

/** Updates h (b, d, n) in place by one token and writes out (b, d) = (C · h + D u) ⊙ SiLU(z). */
export function selectiveScanStep(
  ctx: GpuContext, out: GPUBuffer, h: GPUBuffer, inp: ScanStepTensors, dims: ScanStepShape, options?: CallOptions,
): Promise<Dispatch> {
  const { b, d, n, rowStride, bColumn, cColumn } = dims;
  checkSizes('selective_scan_step', { b, d, n, rowStride });
  if (n > SCAN_MAX_STATE) throw new RangeError(`selective_scan_step: d_state = ${n} is out of range: use a state size from 1 to ${SCAN_MAX_STATE}`);
  for (const [name, column] of [['B', bColumn], ['C', cColumn]] as const) {
    if (!Number.isInteger(column) || column < 0 || column + n > rowStride) {
      throw new RangeError(`selective_scan_step: ${name} at column ${column} with d_state = ${n} runs past rowStride = ${rowStride}: use a column from 0 to ${rowStride - n}`);
    }
  }
  const aLog = tensorOf(inp.A_log);
  const D = tensorOf(inp.D);
  const deltaBias = tensorOf(inp.deltaBias);
  const params = sameBuffer('A_log, D and dt_proj.bias', [aLog, D, deltaBias]);
  return makeDispatch(ctx, 'selective_scan_step', options,
    [b, d, n, 0, rowStride, bColumn, cColumn, 0, 0, aLog.offset, D.offset, deltaBias.offset],
    [h, out, params, inp.u, inp.deltaRaw, inp.xdbl, inp.z], grid1d(ctx.device, b * d, WORKGROUP_SIZE));
}

// ---------------------------------------------------------------- attention over a KV cache

/** Cached rows per workgroup of attention_decode_partial by default (CHUNK in the WGSL). */
export const DECODE_CHUNK = 256;
/** Invocations per workgroup of attention_decode_partial; a power of two for its tree reductions. */
const DECODE_WORKGROUP = 64;

/**
 * The position of the token being decoded, shared by the dispatches of every
 * step: a uniform (position, length = position + 1) and the cosine and sine of
 * its rotary angles, both rewritten by writeDecodePosition before each step.
 */
export interface DecodePosition {
  uniform: GPUBuffer;
  /** (⌊head_dim / 2⌋, 2) floats: cos and sin of position · base^(−2i / head_dim). */
  rope: GPUBuffer;
  headDim: number;
  capacity: number;
}

export function createDecodePosition(ctx: GpuContext, headDim: number, capacity: number, label: string): DecodePosition {
  checkSizes('decode position', { headDim, capacity });
  return {
    uniform: ctx.createBuffer(`${label}: decode position`, 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
    rope: ctx.createStorage(`${label}: decode rope angles`, 2 * Math.floor(headDim / 2)),
    headDim,
    capacity,
  };
}

/** Returns the cosine and sine of each rotary angle of one position, in double precision with ropeRow's expression. */
export function ropeAngles(position: number, headDim: number): Float32Array {
  const half = headDim >> 1;
  const table = new Float32Array(2 * half);
  for (let i = 0; i < half; i++) {
    const angle = position * Math.pow(ROPE_BASE, (-2 * i) / headDim);
    table[2 * i] = Math.cos(angle);
    table[2 * i + 1] = Math.sin(angle);
  }
  return table;
}

/** Sets the position that the next step's dispatches append at; the cache then has position + 1 rows. */
export function writeDecodePosition(device: GPUDevice, target: DecodePosition, position: number): void {
  if (!Number.isInteger(position) || position < 0 || position >= target.capacity) {
    throw new RangeError(`decode position ${position} is invalid: use an integer from 0 to ${target.capacity - 1}, below the KV cache's capacity`);
  }
  device.queue.writeBuffer(target.uniform, 0, new Uint32Array([position, position + 1, 0, 0]));
  if (target.headDim >= 2) device.queue.writeBuffer(target.rope, 0, ropeAngles(position, target.headDim));
}

/**
 * Rotates q (b, n_head · head_dim) in place by the position and writes the
 * rotated k and v into row `position` of kCache and vCache (b, capacity,
 * n_head · head_dim), as TransformerDecoder does with ropeRow and set.
 */
export function attentionDecodeAppend(
  ctx: GpuContext, kCache: GPUBuffer, vCache: GPUBuffer, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, position: DecodePosition,
  b: number, nHead: number, headDim: number, options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('attention_decode_append', { b, nHead, headDim });
  if (position.headDim !== headDim) throw new RangeError(`attention_decode_append: the decode position was created for head_dim = ${position.headDim}, not ${headDim}: create one with createDecodePosition for this head_dim`);
  return makeDispatch(ctx, 'attention_decode_append', options, decodeUniforms(b, position.capacity, nHead, headDim, 1),
    [position.uniform, kCache, vCache, q, k, v, position.rope], grid1d(ctx.device, b * nHead * headDim, WORKGROUP_SIZE),
    { HEAD_DIM: headDim });
}

function decodeUniforms(b: number, capacity: number, nHead: number, headDim: number, chunks: number) {
  return [b, capacity, nHead, chunks, { f32: 1 / Math.sqrt(headDim) }, 0, 0, 0];
}

/** Returns the floats of attentionDecode's partials buffer, (b, n_head, ⌈capacity / chunk⌉, head_dim + 2). */
export function attentionDecodePartialFloats(b: number, capacity: number, nHead: number, headDim: number, chunk = DECODE_CHUNK): number {
  return b * nHead * Math.ceil(capacity / chunk) * (headDim + 2);
}

export interface AttentionDecodeOptions extends CallOptions {
  /** Cached rows per workgroup of the first pass; DECODE_CHUNK when omitted. */
  chunk?: number;
}

/**
 * Computes out (b, n_head · head_dim): the attention of q over the first
 * position + 1 rows of kCache and vCache, as two dispatches. The first splits
 * the cache into chunks, and the second combines their partial softmax sums.
 * Creates its partials buffer of attentionDecodePartialFloats floats.
 */
export async function attentionDecode(
  ctx: GpuContext, out: GPUBuffer, q: GPUBuffer, kCache: GPUBuffer, vCache: GPUBuffer, position: DecodePosition,
  b: number, capacity: number, nHead: number, headDim: number, options?: AttentionDecodeOptions,
): Promise<Dispatch[]> {
  const chunk = options?.chunk ?? DECODE_CHUNK;
  checkSizes('attention_decode', { b, capacity, nHead, headDim, chunk });
  if (position.capacity !== capacity) throw new RangeError(`attention_decode: the decode position was created for capacity ${position.capacity}, not ${capacity}: create one with createDecodePosition for this capacity`);
  const limits = ctx.device.limits;
  const workgroupBytes = 4 * (headDim + chunk + DECODE_WORKGROUP);
  if (workgroupBytes > limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `attention_decode with head_dim = ${headDim} and chunk = ${chunk} needs ${workgroupBytes} bytes of workgroup memory, ` +
      `over this device's maxComputeWorkgroupStorageSize of ${limits.maxComputeWorkgroupStorageSize}: use a smaller chunk or more heads`,
    );
  }
  const chunks = Math.ceil(capacity / chunk);
  const grid: [number, number, number] = [chunks, nHead, b];
  if (grid.some((n) => n > limits.maxComputeWorkgroupsPerDimension)) {
    throw new RangeError(
      `attention_decode over capacity ${capacity} in chunks of ${chunk}, n_head = ${nHead}, b = ${b} exceeds this device's ` +
      `dispatch limit of ${limits.maxComputeWorkgroupsPerDimension} workgroups per dimension: use a larger chunk`,
    );
  }
  const label = options?.label ? `attention_decode_partial: ${options.label} partials` : 'attention_decode_partial: partials';
  const partials = ctx.createStorage(label, attentionDecodePartialFloats(b, capacity, nHead, headDim, chunk));
  const uniforms = decodeUniforms(b, capacity, nHead, headDim, chunks);
  const constants = { HEAD_DIM: headDim, CHUNK: chunk };
  return [
    await makeDispatch(ctx, 'attention_decode_partial', options, uniforms, [position.uniform, partials, q, kCache, vCache], grid,
      { ...constants, WG: DECODE_WORKGROUP }),
    await makeDispatch(ctx, 'attention_decode_combine', options, uniforms, [position.uniform, out, partials],
      grid1d(ctx.device, b * nHead * headDim, WORKGROUP_SIZE), constants),
  ];
}
