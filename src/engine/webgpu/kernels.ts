/**
 * Typed wrappers of the WGSL kernels in shaders/. Each wrapper has the name of
 * its CPU reference in src/model/ops.ts and the same argument order (outputs,
 * then inputs, then sizes), preceded by the GpuContext. A wrapper compiles or
 * reuses the pipeline, writes the call's sizes into a uniform buffer and
 * returns dispatches that can be encoded every step without new allocations.
 *
 * Activations are whole buffers. Parameter and gradient tensors are TensorArgs:
 * a buffer plus a float offset, which reaches the kernel as a uniform because a
 * weight's row range generally does not start on a 256-byte boundary.
 */
import type { Activation } from '../../model/ops';
import {
  grid1d, tensorOf, type Dispatch, type GpuContext, type Kernel, type KernelName, type Tensor,
  type TensorArg, type UniformField,
} from './context';

/** Invocations per workgroup of the 1-D kernels; the WGSL default of the WG override. */
export const WORKGROUP_SIZE = 64;
/**
 * Minimum workgroups of a small dispatch where it has that much work, so that
 * every CPU thread of a software GPU such as SwiftShader gets some.
 */
const MIN_WORKGROUPS = 4;
/** Rows of the block of C that one matmul invocation computes (ROWS in matmul.wgsl). */
const MATMUL_ROWS = 8;
/** Invocations per matmul workgroup when the product is large enough to fill them. */
const MATMUL_INVOCATIONS = 64;

/** Names the call site in labels, such as 'layers.0 in_proj x'. */
export interface CallOptions {
  label?: string;
}

function siteLabel(kernel: string, options: CallOptions | undefined, role: string): string {
  return options?.label ? `${kernel}: ${options.label} ${role}` : `${kernel}: ${role}`;
}

/** Compiles or reuses the kernel, writes its uniforms and binds the buffers after the uniform, in binding order. */
export async function makeDispatch(
  ctx: GpuContext, name: KernelName, options: CallOptions | undefined, uniforms: UniformField[],
  buffers: GPUBuffer[], workgroups: [number, number, number], constants: Record<string, number> = {},
): Promise<Dispatch> {
  const kernel: Kernel = await ctx.kernel(name, constants);
  const uniform = ctx.uniform(siteLabel(name, options, 'sizes'), uniforms);
  return {
    kind: 'dispatch',
    label: siteLabel(name, options, 'dispatch'),
    pipeline: kernel.pipeline,
    bindGroup: ctx.bindGroup(kernel, siteLabel(name, options, 'bind group'), [uniform, ...buffers]),
    workgroups,
  };
}

/** Returns the one buffer that all the tensors share; throws naming them when they do not. */
export function sameBuffer(tensorNames: string, tensors: Tensor[]): GPUBuffer {
  const buffer = tensors[0].buffer;
  if (tensors.some((t) => t.buffer !== buffer)) throw new Error(`${tensorNames} must be in one buffer`);
  return buffer;
}

/** Returns the buffer of a tensor that starts at offset 0; throws naming it otherwise. */
export function wholeBuffer(role: string, t: TensorArg): GPUBuffer {
  const tensor = tensorOf(t);
  if (tensor.offset !== 0) throw new Error(`${role} must start at offset 0 of its buffer, not at float ${tensor.offset}`);
  return tensor.buffer;
}

/** Returns the smallest power of two that is at least `value`, for value ≥ 1. */
function powerOfTwoAtLeast(value: number): number {
  let p = 1;
  while (p < value) p *= 2;
  return p;
}

/**
 * Returns the workgroup size (the WG override) of a 1-D dispatch over `count`
 * invocations: WORKGROUP_SIZE, or a smaller power of two, at least 8, where
 * WORKGROUP_SIZE would leave fewer than MIN_WORKGROUPS workgroups.
 */
function workgroupSizeFor(count: number): number {
  return Math.max(8, Math.min(WORKGROUP_SIZE, powerOfTwoAtLeast(Math.ceil(count / MIN_WORKGROUPS))));
}

// ---------------------------------------------------------------- embedding

/** out (nTok, dim) = W[ids]; W is (vocab, dim) inside the parameter buffer. */
export function embeddingForward(
  ctx: GpuContext, out: GPUBuffer, ids: GPUBuffer, W: TensorArg, nTok: number, dim: number, options?: CallOptions,
): Promise<Dispatch> {
  const w = tensorOf(W);
  return makeDispatch(ctx, 'embedding_forward', options, [nTok, dim, 0, w.offset], [out, ids, w.buffer],
    grid1d(ctx.device, nTok * dim, WORKGROUP_SIZE));
}

/** dW[ids[t]] += dOut[t]; one invocation per vocab row and block of 4 columns of dW. */
export function embeddingBackward(
  ctx: GpuContext, dW: TensorArg, dOut: GPUBuffer, ids: GPUBuffer, nTok: number, dim: number, vocab: number,
  options?: CallOptions,
): Promise<Dispatch> {
  const dw = tensorOf(dW);
  const invocations = vocab * Math.ceil(dim / 4);
  const wg = workgroupSizeFor(invocations);
  return makeDispatch(ctx, 'embedding_backward', options, [nTok, dim, vocab, dw.offset], [dw.buffer, dOut, ids],
    grid1d(ctx.device, invocations, wg), { WG: wg });
}

// ---------------------------------------------------------------- RMSNorm

export function rmsnormForward(
  ctx: GpuContext, y: GPUBuffer, rstd: GPUBuffer, x: GPUBuffer, w: TensorArg, rows: number, dim: number,
  options?: CallOptions,
): Promise<Dispatch> {
  const weight = tensorOf(w);
  return makeDispatch(ctx, 'rmsnorm_forward', options, [rows, dim, weight.offset, 0], [y, rstd, x, weight.buffer],
    grid1d(ctx.device, rows, WORKGROUP_SIZE));
}

/** dx += ∂L/∂x and dw += ∂L/∂w, as two dispatches; the second has one invocation per column of dw. */
export async function rmsnormBackward(
  ctx: GpuContext, dx: GPUBuffer, dw: TensorArg, dy: GPUBuffer, x: GPUBuffer, w: TensorArg, rstd: GPUBuffer,
  rows: number, dim: number, options?: CallOptions,
): Promise<Dispatch[]> {
  const weight = tensorOf(w);
  const dWeight = tensorOf(dw);
  const columnsWg = workgroupSizeFor(dim);
  return [
    await makeDispatch(ctx, 'rmsnorm_backward_dx', options, [rows, dim, weight.offset, 0], [dx, dy, x, weight.buffer, rstd],
      grid1d(ctx.device, rows, WORKGROUP_SIZE)),
    await makeDispatch(ctx, 'rmsnorm_backward_dw', options, [rows, dim, dWeight.offset, 0], [dWeight.buffer, dy, x, rstd],
      grid1d(ctx.device, dim, columnsWg), { WG: columnsWg }),
  ];
}

// ---------------------------------------------------------------- matmul

/** C (m, n) (+)= A (m, k) · B (k, n) over strided views, as matmul.wgsl documents. */
interface StridedProduct {
  m: number;
  n: number;
  k: number;
  accumulate: boolean;
  aRowStride: number;
  aColStride: number;
  bRowStride: number;
  bColStride: number;
  cRowStride: number;
}

/** Override values of matmul.wgsl for one product, and its workgroup counts along columns and rows. */
interface MatmulShape {
  constants: { WG_X: number; WG_Y: number; WIDE: number };
  columnGroups: number;
  rowGroups: number;
}

/**
 * Chooses the block width and the workgroup shape of one product. A block is
 * 8 columns wide, or 4 when n ≤ 4. The workgroup has as many invocations along
 * the columns as there are column blocks, up to 8, and the rest along the rows.
 * A small product gets a smaller workgroup, so that it still splits into
 * MIN_WORKGROUPS workgroups where it has that many blocks.
 */
function matmulShape(m: number, n: number): MatmulShape {
  const wide = n > 4;
  const columnBlocks = Math.ceil(n / (wide ? 8 : 4));
  const rowBlocks = Math.ceil(m / MATMUL_ROWS);
  const x = Math.min(8, powerOfTwoAtLeast(columnBlocks));
  const columnGroups = Math.ceil(columnBlocks / x);
  const rowGroupsTarget = Math.max(1, Math.ceil(MIN_WORKGROUPS / columnGroups));
  const y = Math.max(1, Math.min(MATMUL_INVOCATIONS / x, powerOfTwoAtLeast(Math.ceil(rowBlocks / rowGroupsTarget))));
  return {
    constants: { WG_X: x, WG_Y: y, WIDE: wide ? 1 : 0 },
    columnGroups,
    rowGroups: Math.ceil(rowBlocks / y),
  };
}

function stridedMatmul(
  ctx: GpuContext, c: Tensor, a: Tensor, b: Tensor, p: StridedProduct, options: CallOptions | undefined, role: string,
): Promise<Dispatch> {
  const shape = matmulShape(p.m, p.n);
  const maxGroups = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.min(shape.rowGroups, maxGroups);
  const z = Math.ceil(shape.rowGroups / y);
  if (z > maxGroups || shape.columnGroups > maxGroups) {
    throw new RangeError(`matmul of ${p.m}×${p.k} by ${p.k}×${p.n} exceeds this device's dispatch limit: reduce batch_size, seq_len or the model size`);
  }
  const site = { label: options?.label ? `${options.label} ${role}` : role };
  return makeDispatch(ctx, 'matmul', site, [
    p.m, p.n, p.k, p.accumulate ? 1 : 0,
    a.offset, p.aRowStride, p.aColStride,
    b.offset, p.bRowStride, p.bColStride,
    c.offset, p.cRowStride,
  ], [c.buffer, a.buffer, b.buffer], [shape.columnGroups, y, z], shape.constants);
}

/** Layout options of a linear layer whose weight rows or activation rows are a slice of something wider. */
export interface LinearOptions extends CallOptions {
  /** First row of W (rows, k) that this product uses; rows wRow..wRow+n. */
  wRow?: number;
  /** Row stride of x in floats; k when omitted. */
  xRowStride?: number;
  /** Row stride of y (and dy) in floats; n when omitted. */
  yRowStride?: number;
  /** Row stride of dx in floats; k when omitted. */
  dxRowStride?: number;
}

/** y (m, n) = x (m, k) · Wᵀ with W rows wRow..wRow+n; y and x may be column slices of wider rows. */
export function matmulForward(
  ctx: GpuContext, y: TensorArg, x: TensorArg, W: TensorArg, m: number, k: number, n: number,
  options: LinearOptions & { accumulate?: boolean } = {},
): Promise<Dispatch> {
  const w = tensorOf(W);
  const wRows = { buffer: w.buffer, offset: w.offset + (options.wRow ?? 0) * k };
  return stridedMatmul(ctx, tensorOf(y), tensorOf(x), wRows, {
    m, n, k, accumulate: options.accumulate ?? false,
    aRowStride: options.xRowStride ?? k, aColStride: 1,
    bRowStride: 1, bColStride: k,
    cRowStride: options.yRowStride ?? n,
  }, options, 'y');
}

/**
 * dx (m, k) = dy · W (or += with accumulate) and dW (n, k) += dyᵀ · x, over
 * weight rows wRow..wRow+n; dx may be null when no input gradient is needed.
 */
export async function matmulBackward(
  ctx: GpuContext, dx: TensorArg | null, dW: TensorArg, dy: TensorArg, x: TensorArg, W: TensorArg,
  m: number, k: number, n: number, accumulate: boolean, options: LinearOptions = {},
): Promise<Dispatch[]> {
  const rowOffset = (options.wRow ?? 0) * k;
  const w = tensorOf(W);
  const dw = tensorOf(dW);
  const dyRowStride = options.yRowStride ?? n;
  const xRowStride = options.xRowStride ?? k;
  const dispatches: Dispatch[] = [];
  if (dx) {
    dispatches.push(await stridedMatmul(ctx, tensorOf(dx), tensorOf(dy), { buffer: w.buffer, offset: w.offset + rowOffset }, {
      m, n: k, k: n, accumulate,
      aRowStride: dyRowStride, aColStride: 1,
      bRowStride: k, bColStride: 1,
      cRowStride: options.dxRowStride ?? k,
    }, options, 'dx'));
  }
  dispatches.push(await stridedMatmul(ctx, { buffer: dw.buffer, offset: dw.offset + rowOffset }, tensorOf(dy), tensorOf(x), {
    m: n, n: k, k: m, accumulate: true,
    aRowStride: 1, aColStride: dyRowStride,
    bRowStride: xRowStride, bColStride: 1,
    cRowStride: k,
  }, options, 'dW'));
  return dispatches;
}

// ---------------------------------------------------------------- causal depthwise conv1d + SiLU

/** Largest kernel width of the conv1d kernels (MAX_WIDTH in conv1d_silu.wgsl). */
export const CONV_MAX_WIDTH = 8;

/**
 * pre, u (b, l, d) from x (b, l, d), w (d, 1, k) and bias (d); w and bias share
 * the parameter buffer. u = SiLU(pre), or u = pre with activation 'identity'.
 */
export function conv1dSiluForward(
  ctx: GpuContext, pre: GPUBuffer, u: GPUBuffer, x: GPUBuffer, w: TensorArg, bias: TensorArg,
  b: number, l: number, d: number, k: number, activation: Activation = 'silu', options?: CallOptions,
): Promise<Dispatch> {
  const weight = tensorOf(w);
  const biasT = tensorOf(bias);
  const params = sameBuffer('conv1d weight and bias', [weight, biasT]);
  if (k > CONV_MAX_WIDTH) throw new RangeError(`d_conv = ${k} is over the conv1d kernel's limit of ${CONV_MAX_WIDTH}`);
  const wg = workgroupSizeFor(b * d);
  return makeDispatch(ctx, 'conv1d_silu_forward', options, [b, l, d, k, weight.offset, biasT.offset, 0, 0],
    [pre, u, x, params], grid1d(ctx.device, b * d, wg), { WG: wg, SILU: activation === 'silu' ? 1 : 0 });
}

/**
 * dx overwritten; dw and dbias (in one gradient buffer) accumulate. du is the
 * gradient of the activation's output. Creates its buffer of per-sequence
 * partial sums, (b, d, k + 1) floats.
 */
export async function conv1dSiluBackward(
  ctx: GpuContext, dx: GPUBuffer, dw: TensorArg, dbias: TensorArg, du: GPUBuffer, pre: GPUBuffer, x: GPUBuffer,
  w: TensorArg, b: number, l: number, d: number, k: number, activation: Activation = 'silu', options?: CallOptions,
): Promise<Dispatch[]> {
  if (k > CONV_MAX_WIDTH) throw new RangeError(`d_conv = ${k} is over the conv1d kernel's limit of ${CONV_MAX_WIDTH}`);
  const weight = tensorOf(w);
  const dWeight = tensorOf(dw);
  const dBias = tensorOf(dbias);
  const grads = sameBuffer('conv1d weight and bias gradients', [dWeight, dBias]);
  const partials = ctx.createStorage(siteLabel('conv1d_silu_backward', options, 'partials'), b * d * (k + 1));
  const uniforms = [b, l, d, k, weight.offset, 0, 0, 0];
  const walkWg = workgroupSizeFor(b * d);
  const sumWg = workgroupSizeFor(d * (k + 1));
  return [
    await makeDispatch(ctx, 'conv1d_silu_backward', options, uniforms, [dx, partials, du, pre, x, weight.buffer],
      grid1d(ctx.device, b * d, walkWg), { WG: walkWg, SILU: activation === 'silu' ? 1 : 0 }),
    await makeDispatch(ctx, 'conv1d_silu_backward_dw', options, [b, l, d, k, dWeight.offset, dBias.offset, 0, 0],
      [grads, partials], grid1d(ctx.device, d * (k + 1), sumWg), { WG: sumWg }),
  ];
}

// ---------------------------------------------------------------- selective scan

/**
 * Sizes of one scan, where B and C sit in the rows of x_proj's output, and
 * which parts the model's ablations fix. The switches default to the Mamba scan:
 * input-dependent Δ, B and C, with softplus.
 */
export interface ScanShape {
  b: number;
  l: number;
  d: number;
  n: number;
  /** Floats per token row of xdbl, dt_rank + 2 · d_state in the default model. */
  rowStride: number;
  /** Column of B_t[0] within a row; dt_rank in the default model. */
  bColumn: number;
  /** Column of C_t[0] within a row; dt_rank + d_state in the default model. */
  cColumn: number;
  /** Δ from ScanTensors.delta plus the bias when true; from the bias alone when false. */
  variableDelta?: boolean;
  /** B from the xdbl rows when true; from the (d, n) parameter ScanTensors.B when false. */
  variableB?: boolean;
  /** C from the xdbl rows when true; from the (d, n) parameter ScanTensors.C when false. */
  variableC?: boolean;
  /** Δ = softplus(raw) when true; Δ = raw when false. */
  softplus?: boolean;
}

/** Returns the switches of a ScanShape with their defaults filled in, as 0 or 1 for the uniforms. */
export function scanSwitches(dims: ScanShape) {
  const flag = (value: boolean | undefined) => (value === false ? 0 : 1);
  return {
    variableDelta: flag(dims.variableDelta), variableB: flag(dims.variableB), variableC: flag(dims.variableC),
    softplus: flag(dims.softplus),
  };
}

/**
 * Scan inputs; A_log, D, deltaBias and the fixed B and C are tensors of the one
 * parameter buffer. A buffer that the scan does not read (delta with a fixed Δ,
 * xdbl with fixed B and C) may be any storage buffer, such as u.
 */
export interface ScanTensors {
  u: GPUBuffer;
  /** Δ before bias and softplus (b, l, d). */
  delta: GPUBuffer;
  /** x_proj's output (b, l, rowStride), holding B and C. */
  xdbl: GPUBuffer;
  A_log: TensorArg;
  D: TensorArg;
  deltaBias: TensorArg;
  /** B (d, n), needed when the shape's variableB is false. */
  B?: TensorArg;
  /** C (d, n), needed when the shape's variableC is false. */
  C?: TensorArg;
}

/** Largest d_state of the scan's private arrays (MAX_STATE in selective_scan.wgsl). */
export const SCAN_MAX_STATE = 64;

/**
 * Returns the float offsets of the scan's parameters and the one buffer that
 * contains them all. Throws naming a fixed B or C that the shape needs but the
 * inputs lack.
 */
export function scanParamOffsets(inp: ScanTensors, dims: ScanShape) {
  const switches = scanSwitches(dims);
  const fixed = (role: 'B' | 'C', variable: number): Tensor | null => {
    if (variable) return null;
    const t = inp[role];
    if (!t) throw new Error(`the scan needs the parameter ${role} (d_inner, d_state) when ${role} is not input-dependent`);
    return tensorOf(t);
  };
  const aLog = tensorOf(inp.A_log);
  const D = tensorOf(inp.D);
  const bias = tensorOf(inp.deltaBias);
  const B = fixed('B', switches.variableB);
  const C = fixed('C', switches.variableC);
  const params = sameBuffer('A_log, D, dt_proj.bias and fixed B and C', [aLog, D, bias, ...(B ? [B] : []), ...(C ? [C] : [])]);
  return { params, aLog: aLog.offset, D: D.offset, bias: bias.offset, B: B?.offset ?? 0, C: C?.offset ?? 0, switches };
}

function scanUniforms(inp: ScanTensors, dims: ScanShape): { uniforms: UniformField[]; params: GPUBuffer } {
  if (dims.n > SCAN_MAX_STATE) throw new RangeError(`d_state = ${dims.n} is over the scan's limit of ${SCAN_MAX_STATE}`);
  const p = scanParamOffsets(inp, dims);
  const s = p.switches;
  const { b, l, d, n, rowStride, bColumn, cColumn } = dims;
  return {
    uniforms: [
      b, l, d, n,
      rowStride, bColumn, cColumn, p.aLog,
      p.D, p.bias, s.variableDelta, s.softplus,
      s.variableB, s.variableC, p.B, p.C,
    ],
    params: p.params,
  };
}

/**
 * y (b, l, d) = C_t · h_t + D u_t before the gate; deltaOut (b, l, d) is Δ after
 * bias and softplus; states (b, l, d, n) every h_t.
 */
export function selectiveScanForward(
  ctx: GpuContext, y: GPUBuffer, deltaOut: GPUBuffer, states: GPUBuffer, inp: ScanTensors, dims: ScanShape,
  options?: CallOptions,
): Promise<Dispatch> {
  const { uniforms, params } = scanUniforms(inp, dims);
  return makeDispatch(ctx, 'selective_scan_forward', options, uniforms,
    [y, deltaOut, states, params, inp.u, inp.delta, inp.xdbl], grid1d(ctx.device, dims.b * dims.d, WORKGROUP_SIZE));
}

/** Outputs of the scan's backward pass; every one is overwritten. */
export interface ScanGradTensors {
  du: GPUBuffer;
  /** Gradient of Δ before bias and softplus (b, l, d); with a fixed Δ, of the bias's broadcast. */
  dDelta: GPUBuffer;
  /** Receives ∂L/∂B and ∂L/∂C in the B and C columns of its (b, l, rowStride) rows, where they are input-dependent. */
  dXdbl: GPUBuffer;
  /**
   * (3, b, d, n) floats: per-batch ∂L/∂A_log, then ∂L/∂B and ∂L/∂C of fixed B
   * and C, which are zeros where B and C are input-dependent. Reduce block k
   * over b with reduceRows from offset k · b · d · n.
   */
  paramPartial: GPUBuffer;
  /** (b, l, d, n) floats of scratch: each channel's term of ∂L/∂B before the sum over channels. */
  dBTerms: GPUBuffer;
}

/** Floats of ScanGradTensors.paramPartial. */
export function scanParamPartialFloats(dims: Pick<ScanShape, 'b' | 'd' | 'n'>): number {
  return 3 * dims.b * dims.d * dims.n;
}

/**
 * Backward of selectiveScanForward given dy, the gradient of its ungated output, and
 * the forward pass's states and deltaOut (Δ after bias and softplus).
 */
export async function selectiveScanBackward(
  ctx: GpuContext, g: ScanGradTensors, dy: GPUBuffer, states: GPUBuffer, deltaOut: GPUBuffer, inp: ScanTensors, dims: ScanShape,
  options?: CallOptions,
): Promise<Dispatch[]> {
  const { uniforms, params } = scanUniforms(inp, dims);
  return [
    await makeDispatch(ctx, 'selective_scan_backward', options, uniforms,
      [g.du, g.dDelta, states, params, inp.u, inp.delta, inp.xdbl, dy], grid1d(ctx.device, dims.b * dims.d, WORKGROUP_SIZE)),
    await makeDispatch(ctx, 'selective_scan_backward_bc', options, uniforms,
      [g.dBTerms, g.paramPartial, states, params, inp.u, deltaOut, inp.xdbl, dy], grid1d(ctx.device, dims.b * dims.d * dims.n, WORKGROUP_SIZE)),
    await makeDispatch(ctx, 'selective_scan_backward_bc_sum', options, uniforms,
      [g.dXdbl, g.dBTerms, states, params, inp.u, deltaOut, inp.xdbl, dy], grid1d(ctx.device, dims.b * dims.l * dims.n, WORKGROUP_SIZE)),
  ];
}

// ---------------------------------------------------------------- gate and SiLU

/** out = y ⊙ SiLU(z) over count elements, or y ⊙ z with activation 'identity'. */
export function siluGateForward(
  ctx: GpuContext, out: GPUBuffer, y: GPUBuffer, z: GPUBuffer, count: number, activation: Activation = 'silu',
  options?: CallOptions,
): Promise<Dispatch> {
  return makeDispatch(ctx, 'silu_gate_forward', options, [count, 0, 0, 0], [out, y, z], grid1d(ctx.device, count, WORKGROUP_SIZE),
    { GATE_SILU: activation === 'silu' ? 1 : 0 });
}

/** dy = dout ⊙ act(z) and dz = dout ⊙ y ⊙ act'(z), both overwritten; act is SiLU or the identity. */
export function siluGateBackward(
  ctx: GpuContext, dy: TensorArg, dz: TensorArg, dout: GPUBuffer, y: GPUBuffer, z: GPUBuffer, count: number,
  activation: Activation = 'silu', options?: CallOptions,
): Promise<Dispatch> {
  return makeDispatch(ctx, 'silu_gate_backward', options, [count, 0, 0, 0],
    [wholeBuffer('dy', dy), wholeBuffer('dz', dz), dout, y, z], grid1d(ctx.device, count, WORKGROUP_SIZE),
    { GATE_SILU: activation === 'silu' ? 1 : 0 });
}

/** out = SiLU(x) over count elements. */
export function siluForward(ctx: GpuContext, out: GPUBuffer, x: GPUBuffer, count: number, options?: CallOptions): Promise<Dispatch> {
  return makeDispatch(ctx, 'silu_forward', options, [count, 0, 0, 0], [out, x], grid1d(ctx.device, count, WORKGROUP_SIZE));
}

/** dx = dout ⊙ SiLU'(x), overwritten. */
export function siluBackward(
  ctx: GpuContext, dx: GPUBuffer, dout: TensorArg, x: GPUBuffer, count: number, options?: CallOptions,
): Promise<Dispatch> {
  return makeDispatch(ctx, 'silu_backward', options, [count, 0, 0, 0], [dx, wholeBuffer('dout', dout), x],
    grid1d(ctx.device, count, WORKGROUP_SIZE));
}

// ---------------------------------------------------------------- cross-entropy

/**
 * Per-row loss, correct flag and dlogits; the loss scale (1 / Σ mask) comes from
 * the step uniform, which the host rewrites before every step.
 */
export function crossEntropyForwardBackward(
  ctx: GpuContext, lossRows: GPUBuffer, correct: GPUBuffer, dlogits: GPUBuffer, logits: GPUBuffer, targets: GPUBuffer,
  mask: GPUBuffer, rows: number, vocab: number, step: GPUBuffer, options?: CallOptions,
): Promise<Dispatch> {
  return makeDispatch(ctx, 'cross_entropy_forward_backward', options, [rows, vocab, 0, 0],
    [step, lossRows, correct, dlogits, logits, targets, mask], grid1d(ctx.device, rows, WORKGROUP_SIZE));
}

// ---------------------------------------------------------------- reductions

/**
 * out[j] += Σ_r a[r, j] (· b[r, j] when b is given) over a (rows, cols), which
 * may start at a float offset; one invocation per column.
 */
export function reduceRows(
  ctx: GpuContext, out: TensorArg, a: TensorArg, b: GPUBuffer | null, rows: number, cols: number, options?: CallOptions,
): Promise<Dispatch> {
  const o = tensorOf(out);
  const input = tensorOf(a);
  const wg = workgroupSizeFor(cols);
  return makeDispatch(ctx, 'reduce_rows', options, [rows, cols, o.offset, b ? 1 : 0, input.offset, 0, 0, 0],
    [o.buffer, input.buffer, b ?? input.buffer], grid1d(ctx.device, cols, wg), { WG: wg });
}

/** Maximum partial sums of the first pass of sumOfSquares; clip_scale adds them in one workgroup. */
const NORM_PARTIALS = 4096;
/** Minimum squares per partial sum of sumOfSquares, so that small buffers get few partials. */
const NORM_MIN_SQUARES_PER_PARTIAL = 16;

/**
 * Global gradient norm and clip scale on the GPU: clip[0] = min(1, gradClip / (‖g‖ + 1e-6)),
 * or 1 when gradClip is 0, and clip[1] = ‖g‖. Creates its buffer of partial sums.
 */
export async function sumOfSquares(
  ctx: GpuContext, clip: GPUBuffer, grads: GPUBuffer, count: number, gradClip: number, options?: CallOptions,
): Promise<Dispatch[]> {
  const partialCount = Math.min(NORM_PARTIALS, Math.max(1, Math.ceil(count / NORM_MIN_SQUARES_PER_PARTIAL)));
  const partials = ctx.createStorage(`sum_of_squares_partial: ${options?.label ?? ''} partials`.trim(), partialCount);
  const uniforms: UniformField[] = [count, partialCount, { f32: gradClip }, 0];
  const wg = workgroupSizeFor(partialCount);
  return [
    await makeDispatch(ctx, 'sum_of_squares_partial', options, uniforms, [partials, grads],
      grid1d(ctx.device, partialCount, wg), { WG: wg }),
    await makeDispatch(ctx, 'clip_scale', options, uniforms, [clip, partials], [1, 1, 1]),
  ];
}

/** metrics (4) += (Σ lossRows, Σ correct, Σ mask, 1 step). */
export function metricsAccumulate(
  ctx: GpuContext, metrics: GPUBuffer, lossRows: GPUBuffer, correct: GPUBuffer, mask: GPUBuffer, rows: number,
  options?: CallOptions,
): Promise<Dispatch> {
  return makeDispatch(ctx, 'metrics_accumulate', options, [rows, 0, 0, 0, 0, 0, 0, 0], [metrics, lossRows, correct, mask], [1, 1, 1]);
}

// ---------------------------------------------------------------- optimizer

export interface AdamWConstants {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Builds one AdamW step over count floats; the learning rate and bias corrections come from the step uniform. */
export function adamwUpdate(
  ctx: GpuContext, params: GPUBuffer, m: GPUBuffer, v: GPUBuffer, grads: GPUBuffer, decayFlags: GPUBuffer,
  clip: GPUBuffer, count: number, hp: AdamWConstants, step: GPUBuffer, options?: CallOptions,
): Promise<Dispatch> {
  const uniforms: UniformField[] = [count, { f32: hp.beta1 }, { f32: hp.beta2 }, { f32: hp.eps }, { f32: hp.weightDecay }, 0, 0, 0];
  return makeDispatch(ctx, 'adamw_update', options, uniforms, [step, params, m, v, grads, decayFlags, clip],
    grid1d(ctx.device, count, WORKGROUP_SIZE));
}

/** Values of the per-step uniform that cross_entropy.wgsl and adamw.wgsl read. */
export interface StepValues {
  learningRate: number;
  /** Optimizer step, counting from 1. */
  step: number;
  /** 1 / Σ mask, or 0 when the batch has no answer positions. */
  lossScale: number;
  beta1: number;
  beta2: number;
}

/** Packs the per-step uniform: learning rate, bias corrections 1 − β^step, loss scale. */
export function stepUniformData(values: StepValues): Float32Array {
  return new Float32Array([
    values.learningRate,
    1 - values.beta1 ** values.step,
    1 - values.beta2 ** values.step,
    values.lossScale,
  ]);
}
