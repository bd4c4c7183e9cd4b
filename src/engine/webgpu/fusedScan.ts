/**
 * Wrappers of the fused selective scan (shaders/selective_scan_fused.wgsl) and
 * the plan that sizes its workgroups from the device limits. The CPU references
 * are selectiveScanForward and selectiveScanBackward in src/model/ops.ts, with
 * the gate folded in as there.
 *
 * Memory stays O(b · l · d_inner). The forward pass stores the state at the
 * start of each chunk of at least d_state steps, never every h_t. The backward
 * pass recomputes the states of one chunk at a time from it.
 */
import type { Activation } from '../../model/ops';
import { spreadGroups, tensorOf, type Dispatch, type GpuContext, type Tensor, type TensorArg } from './context';
import {
  makeDispatch, sameBuffer, SCAN_MAX_STATE, scanParamOffsets, scanSwitches, type CallOptions, type ScanShape, type ScanTensors,
} from './kernels';

/** Inputs of the fused scan: those of the simple scan and the gate z (b, l, d). */
export interface FusedScanTensors extends ScanTensors {
  /** The gate; null leaves the output ungated (the 'no-gate' block). */
  z: GPUBuffer | null;
  /** out = y ⊙ SiLU(z) ('silu', the default) or y ⊙ z ('identity', H3's q gate). */
  gate?: Activation;
}

/**
 * Floats per (batch row, channel) of the workspace's param part: ∂L/∂A_log (n),
 * ∂L/∂D, ∂L/∂deltaBias, then ∂L/∂B and ∂L/∂C (n each) where they are fixed.
 */
export function scanParamWidth(dims: ScanShape | Pick<ScanShape, 'n'>): number {
  const switches = scanSwitches(dims as ScanShape);
  return dims.n * (3 - switches.variableB - switches.variableC) + 2;
}

/** The device limits that size the fused scan. */
export type ScanLimits = Pick<
  GPUSupportedLimits,
  | 'maxComputeInvocationsPerWorkgroup'
  | 'maxComputeWorkgroupSizeX'
  | 'maxComputeWorkgroupStorageSize'
  | 'maxStorageBuffersPerShaderStage'
>;

/** Float offsets of the parts of the scan workspace, and its size in floats. */
export interface ScanWorkspaceLayout {
  /** (b, chunks, d, n): h at the start of every chunk, written by forward. */
  states: number;
  /** (b, l, d): y before the gate, written by forward for the gate's gradient. */
  y: number;
  /** (groups, b, l, 2n): ∂L/∂B and ∂L/∂C summed over each channel group, written by backward. */
  bcPartial: number;
  /** (b, d, scanParamWidth): ∂L/∂A_log, ∂L/∂D, ∂L/∂deltaBias and of fixed B and C, per batch row, written by backward. */
  param: number;
  total: number;
}

/** Work split of one fused scan call, which planFusedScan derives from the device limits and sizes. */
export interface FusedScanPlan {
  /** Invocations per workgroup (WG), channels × lanes. */
  workgroupSize: number;
  /** Channels per workgroup (CHANNELS). */
  channels: number;
  /** Invocations along time per channel. */
  lanes: number;
  /** Consecutive timesteps per invocation (ITEMS). */
  items: number;
  /** Timesteps per chunk, lanes × items. */
  chunk: number;
  chunks: number;
  /** Channel groups, ⌈d / channels⌉; workgroups per batch row. */
  groups: number;
  /** Workgroup memory of one workgroup in bytes. */
  workgroupBytes: number;
  /** scanParamWidth of the shape that the plan was made for. */
  paramWidth: number;
  workspace: ScanWorkspaceLayout;
}

/** Storage buffers that an entry point of selective_scan_fused.wgsl binds, at most. */
export const FUSED_SCAN_STORAGE_BUFFERS = 8;
/** Invocations per workgroup of selective_scan_fused_reduce, which uses no workgroup memory. */
const REDUCE_WORKGROUP = 64;
/** Workgroup memory per invocation: one vec4f in each of scanA and scanB. */
const BYTES_PER_INVOCATION = 32;
/** Fewest timesteps per invocation; shorter sequences get fewer lanes instead. */
const MIN_ITEMS = 4;
/** MAX_ITEMS in the WGSL, the size of the per-invocation arrays, and the steps per invocation of long sequences. */
const MAX_ITEMS = 16;
/** Minimum channels per workgroup, so that neighbouring invocations read 32 contiguous bytes. */
const MIN_CHANNELS = 8;

function floorPow2(x: number): number {
  return 2 ** Math.floor(Math.log2(x));
}

function ceilPow2(x: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, x)));
}

function checkSize(name: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} = ${value} is invalid for the fused scan: use an integer from 1 to ${max}`);
  }
}

/**
 * Chooses the workgroup size, channels per workgroup, timesteps per invocation
 * and chunk length:
 * - Workgroup size: the largest power of two within maxComputeInvocationsPerWorkgroup,
 *   maxComputeWorkgroupSizeX and maxComputeWorkgroupStorageSize / 32, cut down
 *   when the sequence is too short to give every lane MIN_ITEMS steps.
 * - Channels: at least d_state (rounded to a power of two), so that the ∂L/∂B and
 *   ∂L/∂C partials, n · ⌈d / channels⌉ per token, stay within d per token. Also
 *   at least MIN_CHANNELS for contiguous reads, and at most d rounded up.
 * - Items: MAX_ITEMS when the sequence fills every lane, because each chunk
 *   costs a scan with workgroup barriers. The CUDA selective scan of
 *   state-spaces/mamba also gives a thread 16 steps above 256 steps, as vLLM's
 *   copy (csrc/mamba/mamba_ssm/selective_scan_fwd.cu) shows. Shorter sequences
 *   get fewer, down to MIN_ITEMS, but enough to make a chunk at least d_state
 *   steps long, so that the chunk states take no more floats than (b, l, d).
 */
export function planFusedScan(
  limits: ScanLimits, dims: Pick<ScanShape, 'b' | 'l' | 'd' | 'n' | 'variableB' | 'variableC'>,
): FusedScanPlan {
  const { b, l, d, n } = dims;
  checkSize('b', b);
  checkSize('l', l);
  checkSize('d_inner', d);
  checkSize('d_state', n, SCAN_MAX_STATE);
  if (limits.maxStorageBuffersPerShaderStage < FUSED_SCAN_STORAGE_BUFFERS) {
    throw new RangeError(
      `maxStorageBuffersPerShaderStage = ${limits.maxStorageBuffersPerShaderStage} is below the ${FUSED_SCAN_STORAGE_BUFFERS} ` +
      'storage buffers that the fused scan binds: use the simple scan on this device',
    );
  }

  const maxWorkgroup = floorPow2(Math.min(
    limits.maxComputeInvocationsPerWorkgroup,
    limits.maxComputeWorkgroupSizeX,
    Math.floor(limits.maxComputeWorkgroupStorageSize / BYTES_PER_INVOCATION),
  ));
  const channels = Math.min(ceilPow2(d), Math.max(ceilPow2(n), MIN_CHANNELS), maxWorkgroup);
  const maxLanes = maxWorkgroup / channels;
  // Long sequences fill every lane with MAX_ITEMS steps; shorter ones give the lanes fewer steps before they give up lanes.
  const items = Math.min(MAX_ITEMS, Math.max(MIN_ITEMS, ceilPow2(Math.ceil(l / maxLanes)), ceilPow2(Math.ceil(n / maxLanes))));
  const lanes = Math.min(maxLanes, Math.max(ceilPow2(Math.ceil(l / items)), ceilPow2(Math.ceil(n / items))));
  const workgroupSize = channels * lanes;
  const chunk = lanes * items;
  const chunks = Math.ceil(l / chunk);
  const groups = Math.ceil(d / channels);

  const states = 0;
  const y = states + b * chunks * d * n;
  const bcPartial = y + b * l * d;
  const param = bcPartial + groups * b * l * 2 * n;
  const paramWidth = scanParamWidth(dims as ScanShape);
  const total = param + b * d * paramWidth;
  return {
    workgroupSize, channels, lanes, items, chunk, chunks, groups,
    workgroupBytes: workgroupSize * BYTES_PER_INVOCATION,
    paramWidth,
    workspace: { states, y, bcPartial, param, total },
  };
}

/**
 * Gradients of the fused scan. du, dDelta and dz are overwritten (dz only with a
 * gate); the parameter gradients accumulate.
 */
export interface FusedScanGradTensors {
  /** du, dDelta (of Δ before bias and softplus) and dz, each (b, l, d), in one buffer. */
  du: Tensor;
  dDelta: Tensor;
  dz: Tensor;
  /**
   * Receives ∂L/∂B and ∂L/∂C in the B and C columns of its (b, l, rowStride)
   * rows where they are input-dependent, overwriting them.
   */
  dXdbl: GPUBuffer;
  /** Gradients of A_log, D, deltaBias and the fixed B and C, in one buffer. */
  A_log: TensorArg;
  D: TensorArg;
  deltaBias: TensorArg;
  /** Needed when B is fixed. */
  B?: TensorArg;
  /** Needed when C is fixed. */
  C?: TensorArg;
}

/** Floats of a buffer that contains du, dDelta and dz one after another, as fusedScanTokenGrads lays them out. */
export function fusedScanTokenGradFloats(dims: Pick<ScanShape, 'b' | 'l' | 'd'>): number {
  return 3 * dims.b * dims.l * dims.d;
}

/** du at offset 0, dDelta and dz after it, each (b, l, d), in one buffer of fusedScanTokenGradFloats. */
export function fusedScanTokenGrads(buffer: GPUBuffer, dims: Pick<ScanShape, 'b' | 'l' | 'd'>): Pick<FusedScanGradTensors, 'du' | 'dDelta' | 'dz'> {
  const size = dims.b * dims.l * dims.d;
  return { du: { buffer, offset: 0 }, dDelta: { buffer, offset: size }, dz: { buffer, offset: 2 * size } };
}

interface GradOffsets {
  du: number;
  dDelta: number;
  dz: number;
  aLog: number;
  D: number;
  deltaBias: number;
  B: number;
  C: number;
}

const NO_GRADS: GradOffsets = { du: 0, dDelta: 0, dz: 0, aLog: 0, D: 0, deltaBias: 0, B: 0, C: 0 };

/** The parts of a plan that the uniforms carry; the materializing scan passes its own for the reduction. */
type UniformLayout = Pick<FusedScanPlan, 'chunks' | 'groups'> & { workspace: Omit<ScanWorkspaceLayout, 'total'> };

/** Returns the gate uniform of selective_scan_fused.wgsl: 0 none, 1 SiLU, 2 the plain product. */
function gateMode(inp: FusedScanTensors): number {
  if (!inp.z) return 0;
  return inp.gate === 'identity' ? 2 : 1;
}

function fusedUniforms(inp: FusedScanTensors, dims: ScanShape, plan: UniformLayout, writeDelta: boolean, grads: GradOffsets) {
  const p = scanParamOffsets(inp, dims);
  const s = p.switches;
  const { b, l, d, n, rowStride, bColumn, cColumn } = dims;
  const g = grads;
  const ws = plan.workspace;
  const uniforms = [
    b, l, d, n,
    rowStride, bColumn, cColumn, plan.chunks,
    p.aLog, p.D, p.bias, writeDelta ? 1 : 0,
    g.du, g.dDelta, g.dz, plan.groups,
    ws.states, ws.y, ws.bcPartial, ws.param,
    g.aLog, g.D, g.deltaBias, gateMode(inp),
    s.variableDelta, s.variableB, s.variableC, s.softplus,
    p.B, p.C, g.B, g.C,
  ];
  return { uniforms, params: p.params };
}

function planConstants(plan: FusedScanPlan): Record<string, number> {
  return { WG: plan.workgroupSize, CHANNELS: plan.channels, ITEMS: plan.items };
}

function checkPlan(plan: FusedScanPlan, dims: ScanShape): void {
  if (plan.chunks !== Math.ceil(dims.l / plan.chunk) || plan.groups !== Math.ceil(dims.d / plan.channels)) {
    throw new Error(`the fused scan plan was made for other sizes than b=${dims.b}, l=${dims.l}, d=${dims.d}: call planFusedScan again`);
  }
  if (plan.paramWidth !== scanParamWidth(dims)) {
    throw new Error('the fused scan plan was made for other fixed B and C than this call: call planFusedScan with the call\'s shape');
  }
}

/** Returns a buffer to bind where the kernel reads nothing: z without a gate. */
function unusedInput(inp: FusedScanTensors): GPUBuffer {
  return inp.u;
}

/**
 * out (b, l, d) = (C_t · h_t + D u_t) ⊙ SiLU(z_t); deltaOut (b, l, d), when
 * given, receives Δ after bias and softplus. Writes the chunk states into the
 * workspace (plan.workspace.total floats), which the backward pass reads.
 */
export async function selectiveScanFusedForward(
  ctx: GpuContext, out: GPUBuffer, deltaOut: GPUBuffer | null, workspace: GPUBuffer, inp: FusedScanTensors,
  dims: ScanShape, plan: FusedScanPlan, options?: CallOptions,
): Promise<Dispatch> {
  checkPlan(plan, dims);
  const { uniforms, params } = fusedUniforms(inp, dims, plan, deltaOut !== null, NO_GRADS);
  const site = options?.label ? `${options.label} ` : '';
  // The binding needs a buffer even when Δ is not written.
  const delta = deltaOut ?? ctx.createStorage(`selective_scan_fused_forward: ${site}unused deltaOut`, 1);
  return makeDispatch(ctx, 'selective_scan_fused_forward', options, uniforms,
    [out, delta, params, inp.u, inp.delta, inp.xdbl, inp.z ?? unusedInput(inp), workspace],
    spreadGroups(ctx.device, dims.b * plan.groups, 'fused scan blocks'), planConstants(plan));
}

/**
 * Backward of selectiveScanFusedForward given dout, the gradient of its gated
 * output, and the workspace that forward filled: one pass over the chunks in
 * reverse, then a pass that sums the partials into dXdbl and the parameter
 * gradients.
 */
export async function selectiveScanFusedBackward(
  ctx: GpuContext, g: FusedScanGradTensors, dout: GPUBuffer, workspace: GPUBuffer, inp: FusedScanTensors,
  dims: ScanShape, plan: FusedScanPlan, options?: CallOptions,
): Promise<Dispatch[]> {
  checkPlan(plan, dims);
  const tokenGrads = sameBuffer('du, dDelta and dz', [g.du, g.dDelta, g.dz]);
  // The gradients of A_log, D and deltaBias are the reduction's; this pass writes only the workspace's partials.
  const { uniforms, params } = fusedUniforms(inp, dims, plan, false, {
    ...NO_GRADS, du: g.du.offset, dDelta: g.dDelta.offset, dz: g.dz.offset,
  });
  return [
    await makeDispatch(ctx, 'selective_scan_fused_backward', options, uniforms,
      [tokenGrads, dout, params, inp.u, inp.delta, inp.xdbl, inp.z ?? unusedInput(inp), workspace],
      spreadGroups(ctx.device, dims.b * plan.groups, 'fused scan blocks'), planConstants(plan)),
    await selectiveScanReduce(ctx, g, workspace, inp, dims, plan, options),
  ];
}

/**
 * Overwrites the input-dependent B and C columns of g.dXdbl with the sums of the
 * workspace's bcPartial over its groups. Adds its param part, summed over the
 * batch, to the gradients of A_log, D, deltaBias and the fixed B and C.
 * Both the fused and the materializing scan end with this pass.
 */
export function selectiveScanReduce(
  ctx: GpuContext, g: Pick<FusedScanGradTensors, 'dXdbl' | 'A_log' | 'D' | 'deltaBias' | 'B' | 'C'>, workspace: GPUBuffer,
  inp: FusedScanTensors, dims: ScanShape, layout: UniformLayout, options?: CallOptions,
): Promise<Dispatch> {
  const switches = scanSwitches(dims);
  const fixedGrad = (role: 'B' | 'C', variable: number): Tensor | null => {
    if (variable) return null;
    const t = g[role];
    if (!t) throw new Error(`the scan needs the gradient of ${role} when ${role} is not input-dependent`);
    return tensorOf(t);
  };
  const gALog = tensorOf(g.A_log);
  const gD = tensorOf(g.D);
  const gBias = tensorOf(g.deltaBias);
  const gB = fixedGrad('B', switches.variableB);
  const gC = fixedGrad('C', switches.variableC);
  const grads = sameBuffer('the gradients of A_log, D, dt_proj.bias and fixed B and C',
    [gALog, gD, gBias, ...(gB ? [gB] : []), ...(gC ? [gC] : [])]);
  const { uniforms } = fusedUniforms(inp, dims, layout, false, {
    ...NO_GRADS, aLog: gALog.offset, D: gD.offset, deltaBias: gBias.offset, B: gB?.offset ?? 0, C: gC?.offset ?? 0,
  });
  const count = dims.b * dims.l * 2 * dims.n + dims.d * scanParamWidth(dims);
  return makeDispatch(ctx, 'selective_scan_fused_reduce', options, uniforms, [g.dXdbl, grads, workspace],
    spreadGroups(ctx.device, Math.ceil(count / REDUCE_WORKGROUP), 'scan gradient sums'), { WG: REDUCE_WORKGROUP });
}
