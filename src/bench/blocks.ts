/**
 * The two blocks that the memory and speed sweep compares, at batch 1 and one
 * sequence length, as GPU buffers and command lists:
 *
 * - Mamba: x + out_proj(gate(scan(conv(in_proj(RMSNorm(x)))))), with expand 2
 *   and d_conv 4, the mixer of src/model/mamba.ts and the fused scan.
 * - Attention: x + o_proj(attention(RoPE(q), RoPE(k), v)) with q, k and v
 *   projected from RMSNorm(x), tiled (attention.wgsl) or naive
 *   (attention_naive.wgsl), the attention half of a layer of src/model/transformer.ts.
 *
 * Each block has a plan that lists every storage buffer it needs in floats,
 * including the scratch buffers that the kernel wrappers create, so the sweep
 * can check the device limits before it allocates anything. The builders
 * allocate exactly those buffers in a GpuContext.
 */
import {
  attentionBackward, attentionForward, attentionNaiveBackward, attentionNaiveForward, attentionNaiveProbsFloats, ropeForward,
} from '../engine/webgpu/attentionKernels';
import type { Command, GpuContext, Tensor } from '../engine/webgpu/context';
import * as fused from '../engine/webgpu/fusedScan';
import { xdblWidth } from '../engine/webgpu/graph';
import * as k from '../engine/webgpu/kernels';
import { resolveConfig, type ResolvedConfig } from '../model/config';
import { buildLayout, initParams, layerParamNames, layoutFromSpecs, type ParamLayout } from '../model/params';
import { Rng } from '../model/random';
import { transformerLayerNames } from '../model/transformer';
import { fillTiled } from './scanBench';

/** Sizes of one block; d_inner is 2 · d_model, d_conv 4 and dt_rank ⌈d_model / 16⌉. */
export interface BlockShape {
  length: number;
  d_model: number;
  n_head: number;
  d_state: number;
}

export type AttentionVariant = 'tiled' | 'naive';

/** Floats of each storage buffer of a block, by role. */
export type BufferFloats = Record<string, number>;

/** Storage buffers of a block's forward pass, and those its backward pass adds. */
export interface BlockPlan {
  forward: BufferFloats;
  backward: BufferFloats;
}

export const MAMBA_EXPAND = 2;
export const MAMBA_D_CONV = 4;

/** Returns the one-layer Mamba config of the block. Its vocabulary only sizes an embedding that the block leaves unused. */
export function mambaBlockConfig(shape: BlockShape): ResolvedConfig {
  return resolveConfig({
    vocab_size: 2, d_model: shape.d_model, n_layer: 1, d_state: shape.d_state, expand: MAMBA_EXPAND, d_conv: MAMBA_D_CONV, dt_rank: 'auto',
  });
}

/** Parameter layout of the attention block: its norm and the q, k, v and o projections, with the Transformer's names. */
export function attentionBlockLayout(dModel: number): ParamLayout {
  const n = transformerLayerNames(0);
  const d = dModel;
  return layoutFromSpecs([[n.attnNorm, [d], false], [n.q, [d, d], true], [n.k, [d, d], true], [n.v, [d, d], true], [n.o, [d, d], true]]);
}

/** Returns the bytes that GpuContext.createStorage allocates for `floats` floats. */
export function storageBytes(floats: number): number {
  return Math.max(4, floats * 4);
}

/** Returns the total bytes of the buffers. */
export function planBytes(buffers: BufferFloats): number {
  return Object.values(buffers).reduce((sum, floats) => sum + storageBytes(floats), 0);
}

export type ScanPlanLimits = fused.ScanLimits;

function mambaScanShape(cfg: ResolvedConfig, l: number): k.ScanShape {
  return {
    b: 1, l, d: cfg.d_inner, n: cfg.d_state,
    rowStride: xdblWidth(cfg), bColumn: cfg.dt_rank, cColumn: cfg.dt_rank + cfg.d_state,
  };
}

/** Lists the Mamba block's buffers; the fused scan's workspace depends on the device's workgroup limits. */
export function planMambaBlock(limits: ScanPlanLimits, shape: BlockShape): BlockPlan {
  const cfg = mambaBlockConfig(shape);
  const T = shape.length;
  const { d_model: dm, d_inner: di } = cfg;
  const R = xdblWidth(cfg);
  const scanPlan = fused.planFusedScan(limits, mambaScanShape(cfg, T));
  const paramFloats = buildLayout(cfg).totalSize;
  return {
    forward: {
      params: paramFloats,
      x: T * dm,
      rstd: T,
      xn: T * dm,
      xb: T * di,
      z: T * di,
      'conv pre': T * di,
      u: T * di,
      xdbl: T * R,
      deltaRaw: T * di,
      'scan workspace': scanPlan.workspace.total,
      // selectiveScanFusedForward binds a one-float buffer in place of Δ, which the block does not keep.
      'unused deltaOut': 1,
      y: T * di,
      out: T * dm,
    },
    backward: {
      grads: paramFloats,
      dOut: T * dm,
      dY: T * di,
      'dU, dDelta and dZ': fused.fusedScanTokenGradFloats({ b: 1, l: T, d: di }),
      dXdbl: T * R,
      // conv1dSiluBackward's per-sequence partial sums, (b, d_inner, d_conv + 1).
      'conv partials': di * (MAMBA_D_CONV + 1),
      dXb: T * di,
      dXn: T * dm,
      dx: T * dm,
    },
  };
}

/** Lists the attention block's buffers; naive adds the (n_head, l, l) probabilities, tiled only a row statistic. */
export function planAttentionBlock(shape: BlockShape, variant: AttentionVariant): BlockPlan {
  const T = shape.length;
  const { d_model: dm, n_head: nh } = shape;
  const headDim = dm / nh;
  const paramFloats = attentionBlockLayout(dm).totalSize;
  // Each ropeForward call uploads its own cosine and sine table of l · ⌊head_dim / 2⌋ · 2 floats.
  const ropeTable = T * Math.floor(headDim / 2) * 2;
  const forward: BufferFloats = {
    params: paramFloats,
    x: T * dm,
    rstd: T,
    xn: T * dm,
    q: T * dm,
    k: T * dm,
    v: T * dm,
    'rope table q': ropeTable,
    'rope table k': ropeTable,
    attention: T * dm,
    lse: nh * T,
    out: T * dm,
  };
  if (variant === 'naive') forward.probs = attentionNaiveProbsFloats(1, T, nh);
  const backward: BufferFloats = {
    grads: paramFloats,
    dOut: T * dm,
    dAttention: T * dm,
    dq: T * dm,
    dk: T * dm,
    dv: T * dm,
    'rope table dq': ropeTable,
    'rope table dk': ropeTable,
    dXn: T * dm,
    dx: T * dm,
  };
  if (variant === 'tiled') backward.dDot = nh * T;
  return { forward, backward };
}

/** A block whose forward buffers are allocated, with its forward commands; backward() allocates the rest. */
export interface BuiltBlock {
  forward: Command[];
  backward(): Promise<Command[]>;
}

/** Returns a function that creates the buffer of one role, sized from the plan, so that the builders allocate what the plan lists. */
function allocator(ctx: GpuContext, buffers: BufferFloats, owner: string) {
  return (role: string): GPUBuffer => {
    const floats = buffers[role];
    if (floats === undefined) throw new Error(`${owner}: buffer ${role} is missing from the plan`);
    return ctx.createStorage(`${owner}: ${role}`, floats);
  };
}

function fillRandom(ctx: GpuContext, buffer: GPUBuffer, floats: number, seed: number): void {
  fillTiled(ctx.device, buffer, floats, new Rng(seed), -1, 1);
}

/** Builds the Mamba block in ctx. Parameters follow the model's initialisation; x and dOut are uniform in [−1, 1). */
export async function buildMambaBlock(ctx: GpuContext, limits: ScanPlanLimits, shape: BlockShape, owner = 'mamba block'): Promise<BuiltBlock> {
  const cfg = mambaBlockConfig(shape);
  const plan = planMambaBlock(limits, shape);
  const T = shape.length;
  const { d_model: dm, d_inner: di, dt_rank: dtRank } = cfg;
  const R = xdblWidth(cfg);
  const dims = mambaScanShape(cfg, T);
  const scanPlan = fused.planFusedScan(limits, dims);
  const layout = buildLayout(cfg);
  const names = layerParamNames(0);
  const site = (what: string) => ({ label: `${owner} ${what}` });

  const alloc = allocator(ctx, plan.forward, owner);
  const params = ctx.upload(`${owner}: params`, initParams(cfg, layout, 1));
  const P = (name: string): Tensor => ({ buffer: params, offset: layout.byName.get(name)!.offset });
  const x = alloc('x');
  fillRandom(ctx, x, T * dm, 2);
  const rstd = alloc('rstd');
  const xn = alloc('xn');
  const xb = alloc('xb');
  const z = alloc('z');
  const pre = alloc('conv pre');
  const u = alloc('u');
  const xdbl = alloc('xdbl');
  const deltaRaw = alloc('deltaRaw');
  const workspace = alloc('scan workspace');
  const y = alloc('y');
  const out = alloc('out');
  const tensors: fused.FusedScanTensors = { u, delta: deltaRaw, xdbl, z, A_log: P(names.A_log), D: P(names.D), deltaBias: P(names.dt_b) };

  const forward: Command[] = [
    await k.rmsnormForward(ctx, xn, rstd, x, P(names.norm), T, dm, site('norm')),
    // in_proj rows are [x branch | z gate].
    await k.matmulForward(ctx, xb, xn, P(names.in_proj), T, dm, di, { ...site('in_proj x'), wRow: 0 }),
    await k.matmulForward(ctx, z, xn, P(names.in_proj), T, dm, di, { ...site('in_proj z'), wRow: di }),
    await k.conv1dSiluForward(ctx, pre, u, xb, P(names.conv_w), P(names.conv_b), 1, T, di, MAMBA_D_CONV, 'silu', site('conv1d')),
    await k.matmulForward(ctx, xdbl, u, P(names.x_proj), T, di, R, site('x_proj')),
    await k.matmulForward(ctx, deltaRaw, xdbl, P(names.dt_w), T, dtRank, di, { ...site('dt_proj'), xRowStride: R }),
    await fused.selectiveScanFusedForward(ctx, y, null, workspace, tensors, dims, scanPlan, site('scan')),
    // out = x + y · out_projᵀ: copy, then let the product accumulate.
    { kind: 'copy', source: x, destination: out, size: T * dm * 4 },
    await k.matmulForward(ctx, out, y, P(names.out_proj), T, di, dm, { ...site('out_proj'), accumulate: true }),
  ];

  const backward = async (): Promise<Command[]> => {
    const allocBackward = allocator(ctx, plan.backward, owner);
    const grads = allocBackward('grads');
    const G = (name: string): Tensor => ({ buffer: grads, offset: layout.byName.get(name)!.offset });
    const dOut = allocBackward('dOut');
    fillRandom(ctx, dOut, T * dm, 3);
    const dY = allocBackward('dY');
    const token = fused.fusedScanTokenGrads(allocBackward('dU, dDelta and dZ'), { b: 1, l: T, d: di });
    const dXdbl = allocBackward('dXdbl');
    const dXb = allocBackward('dXb');
    const dXn = allocBackward('dXn');
    const dx = allocBackward('dx');

    return [
      ...(await k.matmulBackward(ctx, dY, G(names.out_proj), dOut, y, P(names.out_proj), T, di, dm, false, site('out_proj'))),
      // The residual passes dOut to dx unchanged; the norm's backward adds the mixer's part.
      { kind: 'copy', source: dOut, destination: dx, size: T * dm * 4 },
      ...(await fused.selectiveScanFusedBackward(ctx,
        { ...token, dXdbl, A_log: G(names.A_log), D: G(names.D), deltaBias: G(names.dt_b) },
        dY, workspace, tensors, dims, scanPlan, site('scan'))),
      // dt_proj writes Δ's low-rank gradient into the first dt_rank columns of dXdbl, next to ∂L/∂B and ∂L/∂C.
      ...(await k.matmulBackward(ctx, dXdbl, G(names.dt_w), token.dDelta, xdbl, P(names.dt_w), T, dtRank, di, false,
        { ...site('dt_proj'), xRowStride: R, dxRowStride: R })),
      ...(await k.matmulBackward(ctx, token.du, G(names.x_proj), dXdbl, u, P(names.x_proj), T, di, R, true, site('x_proj'))),
      ...(await k.conv1dSiluBackward(ctx, dXb, G(names.conv_w), G(names.conv_b), token.du.buffer, pre, xb, P(names.conv_w),
        1, T, di, MAMBA_D_CONV, 'silu', site('conv1d'))),
      ...(await k.matmulBackward(ctx, dXn, G(names.in_proj), dXb, xn, P(names.in_proj), T, dm, di, false,
        { ...site('in_proj x'), wRow: 0 })),
      ...(await k.matmulBackward(ctx, dXn, G(names.in_proj), token.dz, xn, P(names.in_proj), T, dm, di, true,
        { ...site('in_proj z'), wRow: di })),
      ...(await k.rmsnormBackward(ctx, dx, G(names.norm), dXn, x, P(names.norm), rstd, T, dm, site('norm'))),
    ];
  };
  return { forward, backward };
}

/** Returns the attention block's parameters: norm weight 1, projections N(0, 0.02) as initTransformerParams draws them. */
export function initAttentionBlockParams(layout: ParamLayout, seed: number): Float32Array {
  const rng = new Rng(seed);
  const flat = new Float32Array(layout.totalSize);
  for (const entry of layout.entries) {
    const tensor = flat.subarray(entry.offset, entry.offset + entry.size);
    if (entry.shape.length === 1) tensor.fill(1);
    else for (let i = 0; i < tensor.length; i++) tensor[i] = 0.02 * rng.normal();
  }
  return flat;
}

/** Builds the attention block in ctx; x and dOut are uniform in [−1, 1). */
export async function buildAttentionBlock(
  ctx: GpuContext, shape: BlockShape, variant: AttentionVariant, owner = `${variant} attention block`,
): Promise<BuiltBlock> {
  const plan = planAttentionBlock(shape, variant);
  const T = shape.length;
  const { d_model: dm, n_head: nh } = shape;
  const headDim = dm / nh;
  const layout = attentionBlockLayout(dm);
  const names = transformerLayerNames(0);
  const site = (what: string) => ({ label: `${owner} ${what}` });

  const alloc = allocator(ctx, plan.forward, owner);
  const params = ctx.upload(`${owner}: params`, initAttentionBlockParams(layout, 1));
  const P = (name: string): Tensor => ({ buffer: params, offset: layout.byName.get(name)!.offset });
  const x = alloc('x');
  fillRandom(ctx, x, T * dm, 2);
  const rstd = alloc('rstd');
  const xn = alloc('xn');
  const q = alloc('q');
  const kb = alloc('k');
  const v = alloc('v');
  const att = alloc('attention');
  const lse = alloc('lse');
  const out = alloc('out');
  const probs = variant === 'naive' ? alloc('probs') : null;

  const forward: Command[] = [
    await k.rmsnormForward(ctx, xn, rstd, x, P(names.attnNorm), T, dm, site('norm')),
    await k.matmulForward(ctx, q, xn, P(names.q), T, dm, dm, site('q_proj')),
    await k.matmulForward(ctx, kb, xn, P(names.k), T, dm, dm, site('k_proj')),
    await k.matmulForward(ctx, v, xn, P(names.v), T, dm, dm, site('v_proj')),
    await ropeForward(ctx, q, q, 1, T, nh, headDim, false, site('rope q')),
    await ropeForward(ctx, kb, kb, 1, T, nh, headDim, false, site('rope k')),
    ...(probs
      ? await attentionNaiveForward(ctx, att, lse, probs, q, kb, v, 1, T, nh, headDim, site('attention'))
      : [await attentionForward(ctx, att, lse, q, kb, v, 1, T, nh, headDim, site('attention'))]),
    { kind: 'copy', source: x, destination: out, size: T * dm * 4 },
    await k.matmulForward(ctx, out, att, P(names.o), T, dm, dm, { ...site('o_proj'), accumulate: true }),
  ];

  const backward = async (): Promise<Command[]> => {
    const allocBackward = allocator(ctx, plan.backward, owner);
    const grads = allocBackward('grads');
    const G = (name: string): Tensor => ({ buffer: grads, offset: layout.byName.get(name)!.offset });
    const dOut = allocBackward('dOut');
    fillRandom(ctx, dOut, T * dm, 3);
    const dAtt = allocBackward('dAttention');
    const dq = allocBackward('dq');
    const dk = allocBackward('dk');
    const dv = allocBackward('dv');
    const dXn = allocBackward('dXn');
    const dx = allocBackward('dx');

    return [
      ...(await k.matmulBackward(ctx, dAtt, G(names.o), dOut, att, P(names.o), T, dm, dm, false, site('o_proj'))),
      { kind: 'copy', source: dOut, destination: dx, size: T * dm * 4 },
      // The naive backward overwrites probs with dS, so a backward always follows its own forward.
      ...(probs
        ? await attentionNaiveBackward(ctx, dq, dk, dv, dAtt, q, kb, v, att, probs, 1, T, nh, headDim, site('attention'))
        : await attentionBackward(ctx, dq, dk, dv, dAtt, q, kb, v, att, lse, 1, T, nh, headDim, site('attention'))),
      // RoPE's backward is the inverse rotation.
      await ropeForward(ctx, dq, dq, 1, T, nh, headDim, true, site('rope dq')),
      await ropeForward(ctx, dk, dk, 1, T, nh, headDim, true, site('rope dk')),
      ...(await k.matmulBackward(ctx, dXn, G(names.q), dq, xn, P(names.q), T, dm, dm, false, site('q_proj'))),
      ...(await k.matmulBackward(ctx, dXn, G(names.k), dk, xn, P(names.k), T, dm, dm, true, site('k_proj'))),
      ...(await k.matmulBackward(ctx, dXn, G(names.v), dv, xn, P(names.v), T, dm, dm, true, site('v_proj'))),
      ...(await k.rmsnormBackward(ctx, dx, G(names.attnNorm), dXn, x, P(names.attnNorm), rstd, T, dm, site('norm'))),
    ];
  };
  return { forward, backward };
}
