/**
 * Wrappers of the materializing selective scan
 * (shaders/selective_scan_materializing.wgsl): the standard unfused scan that
 * writes Ā and B̄u as (b, l, d_inner, d_state) tensors. It is the baseline that
 * the benchmark compares the fused scan with, and takes the same inputs and
 * gradient tensors as the fused scan. The CPU references are
 * selectiveScanForward and selectiveScanBackward in src/model/ops.ts.
 * NOTE: it runs only the default Mamba scan (input-dependent Δ, B and C, softplus
 * and the SiLU gate), because only the benchmark uses it. The model's ablations
 * run on the simple and fused scans.
 */
import { grid1d, tensorOf, type Dispatch, type GpuContext } from './context';
import { selectiveScanReduce, type FusedScanGradTensors, type FusedScanTensors } from './fusedScan';
import { makeDispatch, sameBuffer, SCAN_MAX_STATE, WORKGROUP_SIZE, type CallOptions, type ScanShape } from './kernels';

/** Buffers of one materializing scan call, created by allocateMaterializingScan. */
export interface MaterializingScanBuffers {
  /** Ā (b, l, d, n); backward overwrites it with ∂L/∂(Δ A). */
  decay: GPUBuffer;
  /** B̄u (b, l, d, n), overwritten by the scan with every h_t. */
  states: GPUBuffer;
  /** ∂L/∂h_t (b, l, d, n). */
  dStates: GPUBuffer;
  /** y before the gate (b, l, d), kept for the gate's backward. */
  yPre: GPUBuffer;
  /** ∂L/∂y before the gate (b, l, d). */
  dyPre: GPUBuffer;
  /** bcPartial (b, l, 2n) at offset 0, then param (b, d, n + 2), as materializingWorkspace lays them out. */
  workspace: GPUBuffer;
}

/** Float offsets of the workspace parts that selective_scan_fused_reduce reads, with one channel group. */
export function materializingWorkspace(dims: Pick<ScanShape, 'b' | 'l' | 'd' | 'n'>) {
  const { b, l, d, n } = dims;
  const param = b * l * 2 * n;
  return { states: 0, y: 0, bcPartial: 0, param, total: param + b * d * (n + 2) };
}

/**
 * Creates the buffers of one call; throws RangeError, as GpuContext.createStorage
 * does, when a (b, l, d, n) tensor exceeds the device's maxStorageBufferBindingSize.
 */
export function allocateMaterializingScan(ctx: GpuContext, dims: Pick<ScanShape, 'b' | 'l' | 'd' | 'n'>, label: string): MaterializingScanBuffers {
  const { b, l, d, n } = dims;
  if (n > SCAN_MAX_STATE) throw new RangeError(`d_state = ${n} is over the scan's limit of ${SCAN_MAX_STATE}`);
  const expanded = b * l * d * n;
  const limit = ctx.device.limits.maxStorageBufferBindingSize;
  if (expanded * 4 > limit) {
    throw new RangeError(
      `the materializing scan's (b, l, d_inner, d_state) tensors at b = ${b}, l = ${l}, d_inner = ${d}, d_state = ${n} ` +
      `need ${expanded * 4} bytes each, over this device's maxStorageBufferBindingSize of ${limit}`,
    );
  }
  const buffers: GPUBuffer[] = [];
  const buf = (role: string, floats: number) => {
    try {
      const buffer = ctx.createStorage(`selective_scan_materializing: ${label} ${role}`, floats);
      buffers.push(buffer);
      return buffer;
    } catch (err) {
      // Free what was made before the failure, so that a caller that skips this size leaks nothing.
      for (const made of buffers) ctx.destroyBuffer(made);
      throw err;
    }
  };
  return {
    decay: buf('decay', expanded),
    states: buf('states', expanded),
    dStates: buf('dStates', expanded),
    yPre: buf('y before gate', b * l * d),
    dyPre: buf('dy before gate', b * l * d),
    workspace: buf('workspace', materializingWorkspace(dims).total),
  };
}

/** Returns the gate z; throws naming the ablation when the call is not the default Mamba scan. */
function checkDefaultScan(inp: FusedScanTensors, dims: ScanShape): GPUBuffer {
  const fixed = (['variableDelta', 'variableB', 'variableC', 'softplus'] as const).filter((key) => dims[key] === false);
  if (fixed.length > 0) {
    throw new Error(`the materializing scan needs the default Mamba scan, not ${fixed.map((key) => `${key} = false`).join(', ')}: use the fused or simple scan`);
  }
  if (!inp.z || (inp.gate ?? 'silu') !== 'silu') {
    throw new Error('the materializing scan needs the SiLU(z) gate: use the fused or simple scan for other gates');
  }
  return inp.z;
}

function materializingUniforms(inp: FusedScanTensors, dims: ScanShape, tokenGrads: { du: number; dDelta: number; dz: number }) {
  const aLog = tensorOf(inp.A_log);
  const D = tensorOf(inp.D);
  const bias = tensorOf(inp.deltaBias);
  const params = sameBuffer('A_log, D and dt_proj.bias', [aLog, D, bias]);
  const { b, l, d, n, rowStride, bColumn, cColumn } = dims;
  const ws = materializingWorkspace(dims);
  const uniforms = [
    b, l, d, n,
    rowStride, bColumn, cColumn, aLog.offset,
    D.offset, bias.offset, tokenGrads.du, tokenGrads.dDelta,
    tokenGrads.dz, ws.bcPartial, ws.param, 0,
  ];
  return { uniforms, params };
}

/** out (b, l, d) = (C_t · h_t + D u_t) ⊙ SiLU(z_t), as three kernels over (b, l, d, n) tensors. */
export async function selectiveScanMaterializingForward(
  ctx: GpuContext, out: GPUBuffer, buffers: MaterializingScanBuffers, inp: FusedScanTensors, dims: ScanShape,
  options?: CallOptions,
): Promise<Dispatch[]> {
  const z = checkDefaultScan(inp, dims);
  const { uniforms, params } = materializingUniforms(inp, dims, { du: 0, dDelta: 0, dz: 0 });
  const { b, l, d, n } = dims;
  const grid = (count: number) => grid1d(ctx.device, count, WORKGROUP_SIZE);
  return [
    await makeDispatch(ctx, 'selective_scan_materializing_discretize', options, uniforms,
      [buffers.decay, buffers.states, params, inp.u, inp.delta, inp.xdbl], grid(b * l * d * n)),
    await makeDispatch(ctx, 'selective_scan_materializing_scan', options, uniforms, [buffers.states, buffers.decay], grid(b * d * n)),
    await makeDispatch(ctx, 'selective_scan_materializing_output', options, uniforms,
      [out, buffers.yPre, buffers.states, inp.xdbl, inp.u, params, z], grid(b * l * d)),
  ];
}

/**
 * Backward of selectiveScanMaterializingForward given dout, the gradient of its
 * gated output: overwrites du, dDelta, dz and the B and C columns of g.dXdbl,
 * and adds to the gradients of A_log, D and deltaBias, as the fused backward does.
 */
export async function selectiveScanMaterializingBackward(
  ctx: GpuContext, g: FusedScanGradTensors, dout: GPUBuffer, buffers: MaterializingScanBuffers, inp: FusedScanTensors,
  dims: ScanShape, options?: CallOptions,
): Promise<Dispatch[]> {
  const z = checkDefaultScan(inp, dims);
  const tokenGrads = sameBuffer('du, dDelta and dz', [g.du, g.dDelta, g.dz]);
  const { uniforms, params } = materializingUniforms(inp, dims, { du: g.du.offset, dDelta: g.dDelta.offset, dz: g.dz.offset });
  const { b, l, d, n } = dims;
  const grid = (count: number) => grid1d(ctx.device, count, WORKGROUP_SIZE);
  const ws = materializingWorkspace(dims);
  return [
    await makeDispatch(ctx, 'selective_scan_materializing_backward_gate', options, uniforms,
      [tokenGrads, buffers.dyPre, buffers.dStates, dout, buffers.yPre, z, inp.xdbl], grid(b * l * d)),
    await makeDispatch(ctx, 'selective_scan_materializing_backward_scan', options, uniforms,
      [buffers.dStates, buffers.decay, buffers.states], grid(b * d * n)),
    await makeDispatch(ctx, 'selective_scan_materializing_backward_bc', options, uniforms,
      [buffers.workspace, buffers.dyPre, buffers.states, buffers.dStates, inp.u, inp.delta, params], grid(b * l * 2 * n)),
    await makeDispatch(ctx, 'selective_scan_materializing_backward_delta', options, uniforms,
      [tokenGrads, buffers.decay, buffers.dStates, buffers.dyPre, inp.u, inp.delta, inp.xdbl, params], grid(b * l * d)),
    await makeDispatch(ctx, 'selective_scan_materializing_backward_params', options, uniforms,
      [buffers.workspace, tokenGrads, buffers.decay, buffers.dyPre, inp.u, inp.delta, params], grid(b * d * (n + 2))),
    await selectiveScanReduce(ctx, g, buffers.workspace, inp, dims, { chunks: 0, groups: 1, workspace: ws }, options),
  ];
}
