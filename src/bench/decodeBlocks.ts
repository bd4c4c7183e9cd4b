/**
 * Decoding steps of the two blocks in blocks.ts, one new token per batch row:
 *
 * - Mamba: the recurrent step of MambaDecoder (src/model/recurrent.ts) for one
 *   layer, whose state, the convolution window and h, has the same size at every
 *   position.
 * - Attention: the attention half of a TransformerDecoder layer
 *   (src/model/kvcache.ts), whose KV cache has one row of keys and one of values
 *   per token before it.
 *
 * The builders take the parameters and write the step's commands between the
 * block's input x and output out, both (b, d_model), so a test can put an
 * embedding before and a head after them.
 */
import { type Command, type GpuContext, type Tensor } from '../engine/webgpu/context';
import {
  attentionDecode, attentionDecodeAppend, attentionDecodePartialFloats, conv1dSiluStep, createDecodePosition, selectiveScanStep,
  type DecodePosition,
} from '../engine/webgpu/decodeKernels';
import { xdblWidth } from '../engine/webgpu/graph';
import * as k from '../engine/webgpu/kernels';
import type { ResolvedConfig } from '../model/config';
import { layerParamNames, type ParamLayout } from '../model/params';
import { transformerLayerNames } from '../model/transformer';
import type { BufferFloats } from './blocks';

/** Storage buffers of the Mamba block's decoding step for b rows, parameters excluded. */
export function planMambaDecode(cfg: ResolvedConfig, b: number): BufferFloats {
  const { d_model: dm, d_inner: di, d_state: n, d_conv: dConv } = cfg;
  return {
    x: b * dm,
    rstd: b,
    xn: b * dm,
    xb: b * di,
    z: b * di,
    'conv state': b * di * dConv,
    u: b * di,
    xdbl: b * xdblWidth(cfg),
    deltaRaw: b * di,
    h: b * di * n,
    y: b * di,
    out: b * dm,
  };
}

/** Bytes of the Mamba block's recurrent state: the convolution window and h of every row. */
export function mambaDecodeStateBytes(cfg: ResolvedConfig, b: number): number {
  return 4 * b * cfg.d_inner * (cfg.d_conv + cfg.d_state);
}

/** A decoding step: its commands, its input and output rows, and the buffers that carry state between steps. */
export interface BuiltDecode {
  step: Command[];
  /** (b, d_model): the block's input, which the caller fills before each step. */
  x: GPUBuffer;
  /** (b, d_model): x plus the mixer's output. */
  out: GPUBuffer;
  /** The recurrent state or the KV cache, by role. */
  state: Record<string, GPUBuffer>;
}

/** Builds the Mamba block's step over layer 0 of `layout` in `params`, with a zero state, as MambaDecoder starts. */
export async function buildMambaDecode(
  ctx: GpuContext, cfg: ResolvedConfig, layout: ParamLayout, params: GPUBuffer, b: number, owner: string,
): Promise<BuiltDecode> {
  const plan = planMambaDecode(cfg, b);
  const alloc = (role: keyof typeof plan & string) => ctx.createStorage(`${owner}: ${role}`, plan[role]);
  const { d_model: dm, d_inner: di, d_state: n, dt_rank: dtRank, d_conv: dConv } = cfg;
  const R = xdblWidth(cfg);
  const names = layerParamNames(0);
  const P = (name: string): Tensor => ({ buffer: params, offset: layout.byName.get(name)!.offset });
  const site = (what: string) => ({ label: `${owner} ${what}` });

  const x = alloc('x');
  const rstd = alloc('rstd');
  const xn = alloc('xn');
  const xb = alloc('xb');
  const z = alloc('z');
  const convState = alloc('conv state');
  const u = alloc('u');
  const xdbl = alloc('xdbl');
  const deltaRaw = alloc('deltaRaw');
  const h = alloc('h');
  const y = alloc('y');
  const out = alloc('out');

  const step: Command[] = [
    await k.rmsnormForward(ctx, xn, rstd, x, P(names.norm), b, dm, site('norm')),
    await k.matmulForward(ctx, xb, xn, P(names.in_proj), b, dm, di, { ...site('in_proj x'), wRow: 0 }),
    await k.matmulForward(ctx, z, xn, P(names.in_proj), b, dm, di, { ...site('in_proj z'), wRow: di }),
    await conv1dSiluStep(ctx, u, convState, xb, P(names.conv_w), P(names.conv_b), b, di, dConv, site('conv1d')),
    await k.matmulForward(ctx, xdbl, u, P(names.x_proj), b, di, R, site('x_proj')),
    await k.matmulForward(ctx, deltaRaw, xdbl, P(names.dt_w), b, dtRank, di, { ...site('dt_proj'), xRowStride: R }),
    await selectiveScanStep(ctx, y, h, { u, deltaRaw, xdbl, z, A_log: P(names.A_log), D: P(names.D), deltaBias: P(names.dt_b) },
      { b, d: di, n, rowStride: R, bColumn: dtRank, cColumn: dtRank + n }, site('scan')),
    { kind: 'copy', source: x, destination: out, size: b * dm * 4 },
    await k.matmulForward(ctx, out, y, P(names.out_proj), b, di, dm, { ...site('out_proj'), accumulate: true }),
  ];
  return { step, x, out, state: { 'conv state': convState, h } };
}

/** Storage buffers of the attention block's decoding step for b rows and a KV cache of `capacity` rows, parameters excluded. */
export function planAttentionDecode(dModel: number, nHead: number, b: number, capacity: number): BufferFloats {
  const headDim = dModel / nHead;
  return {
    x: b * dModel,
    rstd: b,
    xn: b * dModel,
    q: b * dModel,
    k: b * dModel,
    v: b * dModel,
    'k cache': b * capacity * dModel,
    'v cache': b * capacity * dModel,
    'rope angles': 2 * Math.floor(headDim / 2),
    partials: attentionDecodePartialFloats(b, capacity, nHead, headDim),
    attention: b * dModel,
    out: b * dModel,
  };
}

/** Bytes of a KV cache that contains `length` rows of keys and values. */
export function attentionDecodeCacheBytes(dModel: number, b: number, length: number): number {
  return 2 * 4 * b * length * dModel;
}

export interface BuiltAttentionDecode extends BuiltDecode {
  /** Set with writeDecodePosition before each step. */
  position: DecodePosition;
}

/**
 * Builds the attention block's step over the attention parameters of layer 0 of
 * a Transformer layout in `params`, with an empty KV cache of `capacity` rows.
 */
export async function buildAttentionDecode(
  ctx: GpuContext, layout: ParamLayout, params: GPUBuffer, dModel: number, nHead: number, b: number, capacity: number, owner: string,
): Promise<BuiltAttentionDecode> {
  const plan = planAttentionDecode(dModel, nHead, b, capacity);
  const alloc = (role: string) => ctx.createStorage(`${owner}: ${role}`, plan[role]);
  const headDim = dModel / nHead;
  const names = transformerLayerNames(0);
  const P = (name: string): Tensor => ({ buffer: params, offset: layout.byName.get(name)!.offset });
  const site = (what: string) => ({ label: `${owner} ${what}` });

  const x = alloc('x');
  const rstd = alloc('rstd');
  const xn = alloc('xn');
  const q = alloc('q');
  const kb = alloc('k');
  const v = alloc('v');
  const kCache = alloc('k cache');
  const vCache = alloc('v cache');
  const position = createDecodePosition(ctx, headDim, capacity, owner);
  const att = alloc('attention');
  const out = alloc('out');

  const step: Command[] = [
    await k.rmsnormForward(ctx, xn, rstd, x, P(names.attnNorm), b, dModel, site('norm')),
    await k.matmulForward(ctx, q, xn, P(names.q), b, dModel, dModel, site('q_proj')),
    await k.matmulForward(ctx, kb, xn, P(names.k), b, dModel, dModel, site('k_proj')),
    await k.matmulForward(ctx, v, xn, P(names.v), b, dModel, dModel, site('v_proj')),
    await attentionDecodeAppend(ctx, kCache, vCache, q, kb, v, position, b, nHead, headDim, site('append')),
    ...(await attentionDecode(ctx, att, q, kCache, vCache, position, b, capacity, nHead, headDim, site('attention'))),
    { kind: 'copy', source: x, destination: out, size: b * dModel * 4 },
    await k.matmulForward(ctx, out, att, P(names.o), b, dModel, dModel, { ...site('o_proj'), accumulate: true }),
  ];
  return { step, x, out, state: { 'k cache': kCache, 'v cache': vCache }, position };
}
