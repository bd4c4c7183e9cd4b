/**
 * The Mamba language model as GPU buffers and command lists: the same op
 * sequence as MambaModel in src/model/mamba.ts, dispatch by dispatch. Buffers
 * and dispatches (with their uniforms and bind groups) are created once for
 * fixed sizes (b, l) and the command lists are re-encoded every step.
 *
 * Two places differ in form from the CPU model but not in value:
 * - x_proj runs as one product into xdbl (b·l, dt_rank + 2·d_state), whose
 *   column ranges are Δ's low-rank part, B and C; the CPU model runs three
 *   products over the same weight rows.
 * - The simple scan kernel leaves the gate out, and silu_gate_forward applies
 *   y ⊙ SiLU(z). The fused scan applies the gate itself.
 */
import type { ResolvedConfig } from '../../model/config';
import { ADAMW } from '../../model/optimizer';
import { layerParamNames, type ParamLayout } from '../../model/params';
import type { Command, GpuContext, Tensor } from './context';
import * as fused from './fusedScan';
import * as k from './kernels';

/**
 * Scan kernels of a forward pass. 'fused' (shaders/selective_scan_fused.wgsl)
 * keeps only the state at each chunk start. 'simple' (shaders/selective_scan.wgsl)
 * keeps every state h_t and Δ, which probes read.
 */
export type ScanKind = 'fused' | 'simple';

/** Activations of one layer for a batch of b sequences of length l, all token-major. */
export interface LayerBuffers {
  rstd: GPUBuffer; // (b·l)
  xn: GPUBuffer; // (b·l, d_model)
  xb: GPUBuffer; // (b·l, d_inner)
  z: GPUBuffer; // (b·l, d_inner)
  pre: GPUBuffer; // (b·l, d_inner)
  u: GPUBuffer; // (b·l, d_inner)
  xdbl: GPUBuffer; // (b·l, dt_rank + 2·d_state)
  deltaRaw: GPUBuffer; // (b·l, d_inner)
  yPre: GPUBuffer | null; // (b·l, d_inner), simple scan output before the gate
  delta: GPUBuffer | null; // (b·l, d_inner), Δ after bias and softplus, from the simple scan
  states: GPUBuffer | null; // (b·l, d_inner, d_state), every h_t, from the simple scan
  /** Chunk start states and backward partials of the fused scan, as its plan lays them out. */
  scanWorkspace: GPUBuffer | null;
  y: GPUBuffer; // (b·l, d_inner), gated scan output
  residOut: GPUBuffer; // (b·l, d_model), the residual stream after this block
}

export interface ForwardBuffers {
  b: number;
  l: number;
  scan: ScanKind;
  /** Work split of the fused scan; null with the simple scan. */
  scanPlan: fused.FusedScanPlan | null;
  ids: GPUBuffer; // (b·l) i32
  embedded: GPUBuffer; // (b·l, d_model)
  layers: LayerBuffers[];
  hidden: GPUBuffer; // (b·l, d_model), norm_f output
  rstdF: GPUBuffer; // (b·l)
  logits: GPUBuffer; // (b·l, vocab)
}

/** Floats per row of x_proj's output. */
export function xdblWidth(cfg: ResolvedConfig): number {
  return cfg.dt_rank + 2 * cfg.d_state;
}

export function allocateForward(
  ctx: GpuContext, cfg: ResolvedConfig, b: number, l: number, owner: string, scan: ScanKind,
): ForwardBuffers {
  const T = b * l;
  const { d_model: dm, d_inner: di, d_state: n, vocab_size: vocab } = cfg;
  const buf = (role: string, floats: number) => ctx.createStorage(`${owner}: ${role}`, floats);
  const scanPlan = scan === 'fused' ? fused.planFusedScan(ctx.device.limits, scanShape(cfg, b, l)) : null;
  const layers: LayerBuffers[] = [];
  for (let i = 0; i < cfg.n_layer; i++) {
    const p = `layers.${i}`;
    const simple = scanPlan === null;
    layers.push({
      rstd: buf(`${p} rstd`, T),
      xn: buf(`${p} xn`, T * dm),
      xb: buf(`${p} xb`, T * di),
      z: buf(`${p} z`, T * di),
      pre: buf(`${p} conv pre`, T * di),
      u: buf(`${p} u`, T * di),
      xdbl: buf(`${p} xdbl`, T * xdblWidth(cfg)),
      deltaRaw: buf(`${p} deltaRaw`, T * di),
      yPre: simple ? buf(`${p} scan y`, T * di) : null,
      delta: simple ? buf(`${p} delta`, T * di) : null,
      states: simple ? buf(`${p} states`, T * di * n) : null,
      scanWorkspace: scanPlan ? buf(`${p} scan workspace`, scanPlan.workspace.total) : null,
      y: buf(`${p} gated y`, T * di),
      residOut: buf(`${p} residual out`, T * dm),
    });
  }
  return {
    b, l, scan, scanPlan,
    ids: buf('ids', T),
    embedded: buf('embedded', T * dm),
    layers,
    hidden: buf('norm_f out', T * dm),
    rstdF: buf('norm_f rstd', T),
    logits: buf('logits', T * vocab),
  };
}

/** Resolves parameter names to tensors of one flat buffer (parameters or gradients). */
function tensorsOf(layout: ParamLayout, buffer: GPUBuffer) {
  return (name: string): Tensor => {
    const entry = layout.byName.get(name);
    if (!entry) throw new Error(`parameter ${name} not found in the layout`);
    return { buffer, offset: entry.offset };
  };
}

function scanShape(cfg: ResolvedConfig, b: number, l: number): k.ScanShape {
  return {
    b, l, d: cfg.d_inner, n: cfg.d_state,
    rowStride: xdblWidth(cfg), bColumn: cfg.dt_rank, cColumn: cfg.dt_rank + cfg.d_state,
  };
}

function scanTensors(layer: LayerBuffers, P: (name: string) => Tensor, i: number): fused.FusedScanTensors {
  const n = layerParamNames(i);
  return { u: layer.u, delta: layer.deltaRaw, xdbl: layer.xdbl, z: layer.z, A_log: P(n.A_log), D: P(n.D), deltaBias: P(n.dt_b) };
}

/** Returns a buffer that only one scan kind allocates, or throws naming it. */
function scanBuffer(buffer: GPUBuffer | null, role: string, scan: ScanKind): GPUBuffer {
  if (!buffer) throw new Error(`${role} is not allocated with the ${scan} scan`);
  return buffer;
}

/** Commands of the forward pass from fb.ids to fb.logits. */
export async function forwardCommands(
  ctx: GpuContext, cfg: ResolvedConfig, layout: ParamLayout, params: GPUBuffer, fb: ForwardBuffers, owner: string,
): Promise<Command[]> {
  const { d_model: dm, d_inner: di, dt_rank: dtRank, d_conv: dConv, vocab_size: vocab } = cfg;
  const { b, l } = fb;
  const T = b * l;
  const R = xdblWidth(cfg);
  const P = tensorsOf(layout, params);
  const commands: Command[] = [];

  commands.push(await k.embeddingForward(ctx, fb.embedded, fb.ids, P('embedding.weight'), T, dm, { label: `${owner} embedding` }));
  let resid = fb.embedded;
  for (let i = 0; i < cfg.n_layer; i++) {
    const n = layerParamNames(i);
    const L = fb.layers[i];
    const site = (what: string) => ({ label: `${owner} layers.${i} ${what}` });

    commands.push(await k.rmsnormForward(ctx, L.xn, L.rstd, resid, P(n.norm), T, dm, site('norm')));

    // in_proj rows are [x branch | z gate].
    commands.push(await k.matmulForward(ctx, L.xb, L.xn, P(n.in_proj), T, dm, di, { ...site('in_proj x'), wRow: 0 }));
    commands.push(await k.matmulForward(ctx, L.z, L.xn, P(n.in_proj), T, dm, di, { ...site('in_proj z'), wRow: di }));
    commands.push(await k.conv1dSiluForward(ctx, L.pre, L.u, L.xb, P(n.conv_w), P(n.conv_b), b, l, di, dConv, site('conv1d')));

    // x_proj rows are [Δ low rank | B | C]; dt_proj reads the first dt_rank columns, and its bias is added in the scan.
    commands.push(await k.matmulForward(ctx, L.xdbl, L.u, P(n.x_proj), T, di, R, site('x_proj')));
    commands.push(await k.matmulForward(ctx, L.deltaRaw, L.xdbl, P(n.dt_w), T, dtRank, di, { ...site('dt_proj'), xRowStride: R }));

    if (fb.scanPlan) {
      commands.push(await fused.selectiveScanFusedForward(ctx, L.y, null, scanBuffer(L.scanWorkspace, 'scan workspace', fb.scan),
        scanTensors(L, P, i), scanShape(cfg, b, l), fb.scanPlan, site('scan')));
    } else {
      const yPre = scanBuffer(L.yPre, 'scan y', fb.scan);
      commands.push(await k.selectiveScanForward(ctx, yPre, scanBuffer(L.delta, 'delta', fb.scan), scanBuffer(L.states, 'states', fb.scan),
        scanTensors(L, P, i), scanShape(cfg, b, l), site('scan')));
      commands.push(await k.siluGateForward(ctx, L.y, yPre, L.z, T * di, site('gate')));
    }

    // resid_{i+1} = resid_i + y · out_projᵀ: copy, then let the product accumulate.
    commands.push({ kind: 'copy', source: resid, destination: L.residOut, size: T * dm * 4 });
    commands.push(await k.matmulForward(ctx, L.residOut, L.y, P(n.out_proj), T, di, dm, { ...site('out_proj'), accumulate: true }));
    resid = L.residOut;
  }

  commands.push(await k.rmsnormForward(ctx, fb.hidden, fb.rstdF, resid, P('norm_f.weight'), T, dm, { label: `${owner} norm_f` }));
  // The head is tied to the embedding: logits = hidden · Eᵀ.
  commands.push(await k.matmulForward(ctx, fb.logits, fb.hidden, P('embedding.weight'), T, dm, vocab, { label: `${owner} head` }));
  return commands;
}

/** Buffers that exist only for training: batch targets, gradients, optimizer state and backward temporaries. */
export interface TrainBuffers {
  targets: GPUBuffer; // (b·l) i32
  mask: GPUBuffer; // (b·l)
  /** Learning rate, bias corrections and loss scale, rewritten by the host every step. */
  step: GPUBuffer;
  /** (loss sum, correct sum, mask sum, steps), summed until readMetrics clears it. */
  metrics: GPUBuffer;
  grads: GPUBuffer; // flat layout
  m: GPUBuffer;
  v: GPUBuffer;
  decayFlags: GPUBuffer; // one u32 per 64-float block
  /** (clip scale, gradient norm) of the last step. */
  clip: GPUBuffer;
  lossRows: GPUBuffer;
  correct: GPUBuffer;
  dlogits: GPUBuffer;
  dHidden: GPUBuffer;
  dResid: GPUBuffer;
  dY: GPUBuffer;
  /** Gradient of the simple scan's output before the gate; null with the fused scan. */
  dYPre: GPUBuffer | null;
  /**
   * dZ, dU and dDelta (of Δ before bias and softplus), each (b·l, d_inner). The
   * fused scan writes all three into one buffer, with dU at offset 0.
   */
  dZ: Tensor;
  dU: Tensor;
  dDelta: Tensor;
  dXdbl: GPUBuffer;
  /** Per-batch ∂L/∂A_log of the simple scan (b, d_inner, d_state); null with the fused scan. */
  dALogPartial: GPUBuffer | null;
  dXb: GPUBuffer;
  dXn: GPUBuffer;
}

/**
 * Allocates dZ, dU and dDelta. The fused scan writes all three into one buffer,
 * with dU at offset 0 because conv1d's backward reads it from there. The simple
 * scan gets three buffers.
 */
function allocateScanTokenGrads(
  buf: (role: string, floats: number) => GPUBuffer, scan: ScanKind, b: number, l: number, di: number,
): Pick<TrainBuffers, 'dZ' | 'dU' | 'dDelta'> {
  if (scan === 'fused') {
    const shape = { b, l, d: di };
    const grads = fused.fusedScanTokenGrads(buf('dU, dDelta and dZ', fused.fusedScanTokenGradFloats(shape)), shape);
    return { dZ: grads.dz, dU: grads.du, dDelta: grads.dDelta };
  }
  const T = b * l;
  return {
    dZ: { buffer: buf('dZ', T * di), offset: 0 },
    dU: { buffer: buf('dU', T * di), offset: 0 },
    dDelta: { buffer: buf('dDelta', T * di), offset: 0 },
  };
}

export function allocateTraining(
  ctx: GpuContext, cfg: ResolvedConfig, layout: ParamLayout, b: number, l: number, scan: ScanKind,
): TrainBuffers {
  const T = b * l;
  const { d_model: dm, d_inner: di, d_state: n, vocab_size: vocab } = cfg;
  const buf = (role: string, floats: number) => ctx.createStorage(`train: ${role}`, floats);

  const flags = new Uint32Array(layout.totalSize / 64);
  for (const e of layout.entries) flags.fill(e.decay ? 1 : 0, e.offset / 64, Math.ceil((e.offset + e.size) / 64));

  return {
    targets: buf('targets', T),
    mask: buf('mask', T),
    step: ctx.createBuffer('train: step uniform', 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
    metrics: buf('metrics', 4),
    grads: buf('grads', layout.totalSize),
    m: buf('adamw m', layout.totalSize),
    v: buf('adamw v', layout.totalSize),
    decayFlags: ctx.upload('train: decay flags', flags),
    clip: buf('clip', 2),
    lossRows: buf('loss rows', T),
    correct: buf('correct', T),
    dlogits: buf('dlogits', T * vocab),
    dHidden: buf('dHidden', T * dm),
    dResid: buf('dResid', T * dm),
    dY: buf('dY', T * di),
    dYPre: scan === 'simple' ? buf('dY before gate', T * di) : null,
    ...allocateScanTokenGrads(buf, scan, b, l, di),
    dXdbl: buf('dXdbl', T * xdblWidth(cfg)),
    dALogPartial: scan === 'simple' ? buf('dA_log partial', b * di * n) : null,
    dXb: buf('dXb', T * di),
    dXn: buf('dXn', T * dm),
  };
}

export interface TrainOptions {
  weightDecay: number;
  gradClip: number;
}

/**
 * Commands of one training step after the forward pass: loss and metrics,
 * backward into tb.grads (cleared first), the global-norm clip and AdamW.
 */
export async function trainCommands(
  ctx: GpuContext, cfg: ResolvedConfig, layout: ParamLayout, params: GPUBuffer, fb: ForwardBuffers, tb: TrainBuffers,
  options: TrainOptions,
): Promise<Command[]> {
  const { d_model: dm, d_inner: di, d_state: n, dt_rank: dtRank, d_conv: dConv, vocab_size: vocab } = cfg;
  const { b, l } = fb;
  const T = b * l;
  const R = xdblWidth(cfg);
  const P = tensorsOf(layout, params);
  const G = tensorsOf(layout, tb.grads);
  const commands: Command[] = [{ kind: 'clear', buffer: tb.grads }];

  commands.push(await k.crossEntropyForwardBackward(ctx, tb.lossRows, tb.correct, tb.dlogits, fb.logits, tb.targets, tb.mask,
    T, vocab, tb.step, { label: 'train loss' }));
  commands.push(await k.metricsAccumulate(ctx, tb.metrics, tb.lossRows, tb.correct, tb.mask, T, { label: 'train' }));

  // Tied head, then norm_f. From here down through the layers, dResid contains ∂L/∂resid.
  commands.push(...(await k.matmulBackward(ctx, tb.dHidden, G('embedding.weight'), tb.dlogits, fb.hidden, P('embedding.weight'),
    T, dm, vocab, false, { label: 'train head' })));
  commands.push({ kind: 'clear', buffer: tb.dResid });
  const lastResid = fb.layers.length > 0 ? fb.layers[fb.layers.length - 1].residOut : fb.embedded;
  commands.push(...(await k.rmsnormBackward(ctx, tb.dResid, G('norm_f.weight'), tb.dHidden, lastResid, P('norm_f.weight'),
    fb.rstdF, T, dm, { label: 'train norm_f' })));

  for (let i = cfg.n_layer - 1; i >= 0; i--) {
    const names = layerParamNames(i);
    const L = fb.layers[i];
    const residIn = i > 0 ? fb.layers[i - 1].residOut : fb.embedded;
    const site = (what: string) => ({ label: `train layers.${i} ${what}` });

    // The residual passes dResid through unchanged; the mixer's part is added by the norm's backward below.
    commands.push(...(await k.matmulBackward(ctx, tb.dY, G(names.out_proj), tb.dResid, L.y, P(names.out_proj), T, di, dm, false,
      site('out_proj'))));
    if (fb.scanPlan) {
      // The fused scan also takes the gate's gradient and adds the gradients of A_log, D and dt_proj's bias.
      commands.push(...(await fused.selectiveScanFusedBackward(ctx,
        { du: tb.dU, dDelta: tb.dDelta, dz: tb.dZ, dXdbl: tb.dXdbl, A_log: G(names.A_log), D: G(names.D), deltaBias: G(names.dt_b) },
        tb.dY, scanBuffer(L.scanWorkspace, 'scan workspace', fb.scan), scanTensors(L, P, i), scanShape(cfg, b, l), fb.scanPlan,
        site('scan'))));
    } else {
      const dYPre = scanBuffer(tb.dYPre, 'dY before gate', fb.scan);
      const dALogPartial = scanBuffer(tb.dALogPartial, 'dA_log partial', fb.scan);
      commands.push(await k.siluGateBackward(ctx, dYPre, tb.dZ.buffer, tb.dY, scanBuffer(L.yPre, 'scan y', fb.scan), L.z, T * di,
        site('gate')));
      commands.push(...(await k.selectiveScanBackward(ctx,
        { du: tb.dU.buffer, dDelta: tb.dDelta.buffer, dXdbl: tb.dXdbl, dALogPartial },
        dYPre, scanBuffer(L.states, 'states', fb.scan), scanTensors(L, P, i), scanShape(cfg, b, l), site('scan'))));
      commands.push(await k.reduceRows(ctx, G(names.A_log), dALogPartial, null, b, di * n, site('dA_log')));
      commands.push(await k.reduceRows(ctx, G(names.D), dYPre, L.u, T, di, site('dD')));
      commands.push(await k.reduceRows(ctx, G(names.dt_b), tb.dDelta.buffer, null, T, di, site('dt_proj bias')));
    }

    // dt_proj writes Δ's low-rank gradient into the first dt_rank columns of dXdbl, next to ∂L/∂B and ∂L/∂C.
    commands.push(...(await k.matmulBackward(ctx, tb.dXdbl, G(names.dt_w), tb.dDelta, L.xdbl, P(names.dt_w), T, dtRank, di, false,
      { ...site('dt_proj'), xRowStride: R, dxRowStride: R })));
    commands.push(...(await k.matmulBackward(ctx, tb.dU, G(names.x_proj), tb.dXdbl, L.u, P(names.x_proj), T, di, R, true,
      site('x_proj'))));

    commands.push(...(await k.conv1dSiluBackward(ctx, tb.dXb, G(names.conv_w), G(names.conv_b), tb.dU.buffer, L.pre, L.xb, P(names.conv_w),
      b, l, di, dConv, site('conv1d'))));
    commands.push(...(await k.matmulBackward(ctx, tb.dXn, G(names.in_proj), tb.dXb, L.xn, P(names.in_proj), T, dm, di, false,
      { ...site('in_proj x'), wRow: 0 })));
    commands.push(...(await k.matmulBackward(ctx, tb.dXn, G(names.in_proj), tb.dZ, L.xn, P(names.in_proj), T, dm, di, true,
      { ...site('in_proj z'), wRow: di })));
    commands.push(...(await k.rmsnormBackward(ctx, tb.dResid, G(names.norm), tb.dXn, residIn, P(names.norm), L.rstd, T, dm,
      site('norm'))));
  }

  commands.push(await k.embeddingBackward(ctx, G('embedding.weight'), tb.dResid, fb.ids, T, dm, vocab, { label: 'train embedding' }));

  commands.push(...(await k.sumOfSquares(ctx, tb.clip, tb.grads, layout.totalSize, options.gradClip, { label: 'train' })));
  commands.push(await k.adamwUpdate(ctx, params, tb.m, tb.v, tb.grads, tb.decayFlags, tb.clip, layout.totalSize,
    { ...ADAMW, weightDecay: options.weightDecay }, tb.step, { label: 'train' }));
  return commands;
}
