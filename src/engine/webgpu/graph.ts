/**
 * The Mamba language model as GPU buffers and command lists: the same op
 * sequence as MambaModel in src/model/mamba.ts, dispatch by dispatch, for every
 * ablation of MambaConfig (the equations are at the top of mamba.ts). Buffers
 * and dispatches (with their uniforms and bind groups) are created once for
 * fixed sizes (b, l) and the command lists are re-encoded every step.
 *
 * Two places differ in form from the CPU model but not in value:
 * - x_proj runs as one product into xdbl (b·l, width), whose column ranges are
 *   Δ's low-rank part, B and C (those that are selective, see xProjColumns);
 *   the CPU model runs one product per part over the same weight rows.
 * - The simple scan kernel leaves the gate out, and silu_gate_forward applies
 *   y ⊙ SiLU(z), or y ⊙ q in H3. The fused scan applies the gate itself. The
 *   'no-gate' block skips the gate kernel.
 */
import type { ResolvedConfig } from '../../model/config';
import { ADAMW } from '../../model/optimizer';
import { inProjRows, layerParamNames, xProjColumns, type ParamLayout } from '../../model/params';
import type { Command, GpuContext, Tensor } from './context';
import * as fused from './fusedScan';
import * as k from './kernels';

/**
 * Scan kernels of a forward pass. 'fused' (shaders/selective_scan_fused.wgsl)
 * keeps only the state at each chunk start. 'simple' (shaders/selective_scan.wgsl)
 * keeps every state h_t and Δ, which probes read.
 */
export type ScanKind = 'fused' | 'simple';

/** Activations of one layer for a batch of b sequences of length l, all token-major; null where the config has no such step. */
export interface LayerBuffers {
  rstd: GPUBuffer; // (b·l)
  xn: GPUBuffer; // (b·l, d_model)
  xb: GPUBuffer; // (b·l, d_inner), the branch through the conv: x, or k in H3
  z: GPUBuffer | null; // (b·l, d_inner), the output gate: z, or q in H3
  v: GPUBuffer | null; // (b·l, d_inner), H3's v
  pre: GPUBuffer | null; // (b·l, d_inner), conv output before its activation; k̄ in H3
  u: GPUBuffer; // (b·l, d_inner), scan input
  xdbl: GPUBuffer | null; // (b·l, xProjColumns width), null without x_proj
  deltaRaw: GPUBuffer | null; // (b·l, d_inner), null with a fixed Δ
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

/** Floats per row of x_proj's output; 0 when no part is selective. */
export function xdblWidth(cfg: ResolvedConfig): number {
  return xProjColumns(cfg).width;
}

export function allocateForward(
  ctx: GpuContext, cfg: ResolvedConfig, b: number, l: number, owner: string, scan: ScanKind,
): ForwardBuffers {
  const T = b * l;
  const { d_model: dm, d_inner: di, d_state: n, vocab_size: vocab } = cfg;
  const buf = (role: string, floats: number) => ctx.createStorage(`${owner}: ${role}`, floats);
  const scanPlan = scan === 'fused' ? fused.planFusedScan(ctx.device.limits, scanShape(cfg, b, l)) : null;
  const inRows = inProjRows(cfg);
  const layers: LayerBuffers[] = [];
  for (let i = 0; i < cfg.n_layer; i++) {
    const p = `layers.${i}`;
    const simple = scanPlan === null;
    const h3 = cfg.block === 'h3';
    const branchName = (mamba: string, h3Name: string) => `${p} ${h3 ? h3Name : mamba}`;
    layers.push({
      rstd: buf(`${p} rstd`, T),
      xn: buf(`${p} xn`, T * dm),
      xb: buf(branchName('xb', 'k'), T * di),
      z: inRows.z !== null ? buf(branchName('z', 'q'), T * di) : null,
      v: inRows.v !== null ? buf(`${p} v`, T * di) : null,
      pre: cfg.use_conv ? buf(`${p} conv pre`, T * di) : null,
      u: buf(`${p} u`, T * di),
      xdbl: xdblWidth(cfg) > 0 ? buf(`${p} xdbl`, T * xdblWidth(cfg)) : null,
      deltaRaw: cfg.selective_delta ? buf(`${p} deltaRaw`, T * di) : null,
      yPre: simple && inRows.z !== null ? buf(`${p} scan y`, T * di) : null,
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
  const cols = xProjColumns(cfg);
  return {
    b, l, d: cfg.d_inner, n: cfg.d_state,
    rowStride: cols.width, bColumn: cols.B ?? 0, cColumn: cols.C ?? 0,
    variableDelta: cfg.selective_delta, variableB: cfg.selective_B, variableC: cfg.selective_C, softplus: cfg.delta_softplus,
  };
}

/** Scan inputs of layer i; buffers that the config's scan does not read are bound to u. */
function scanTensors(cfg: ResolvedConfig, layer: LayerBuffers, P: (name: string) => Tensor, i: number): fused.FusedScanTensors {
  const n = layerParamNames(i);
  return {
    u: layer.u, delta: layer.deltaRaw ?? layer.u, xdbl: layer.xdbl ?? layer.u, z: layer.z,
    gate: cfg.block === 'h3' ? 'identity' : 'silu',
    A_log: P(n.A_log), D: P(n.D), deltaBias: P(n.dt_b),
    B: cfg.selective_B ? undefined : P(n.B), C: cfg.selective_C ? undefined : P(n.C),
  };
}

/** Returns a buffer that only one scan kind allocates, or throws naming it. */
function scanBuffer(buffer: GPUBuffer | null, role: string, scan: ScanKind): GPUBuffer {
  if (!buffer) throw new Error(`${role} is not allocated with the ${scan} scan`);
  return buffer;
}

/** Returns a buffer that only some configs allocate, or throws naming it. */
function present<T>(value: T | null, role: string): T {
  if (value === null) throw new Error(`${role} is not allocated for this model config`);
  return value;
}

/** Commands of the forward pass from fb.ids to fb.logits. */
export async function forwardCommands(
  ctx: GpuContext, cfg: ResolvedConfig, layout: ParamLayout, params: GPUBuffer, fb: ForwardBuffers, owner: string,
): Promise<Command[]> {
  const { d_model: dm, d_inner: di, dt_rank: dtRank, d_conv: dConv, vocab_size: vocab } = cfg;
  const { b, l } = fb;
  const T = b * l;
  const R = xdblWidth(cfg);
  const cols = xProjColumns(cfg);
  const inRows = inProjRows(cfg);
  const h3 = cfg.block === 'h3';
  const P = tensorsOf(layout, params);
  const commands: Command[] = [];

  commands.push(await k.embeddingForward(ctx, fb.embedded, fb.ids, P('embedding.weight'), T, dm, { label: `${owner} embedding` }));
  let resid = fb.embedded;
  for (let i = 0; i < cfg.n_layer; i++) {
    const n = layerParamNames(i);
    const L = fb.layers[i];
    const site = (what: string) => ({ label: `${owner} layers.${i} ${what}` });

    commands.push(await k.rmsnormForward(ctx, L.xn, L.rstd, resid, P(n.norm), T, dm, site('norm')));

    // in_proj rows are [x | z], [x] or H3's [q | k | v]; xb is x or k, z is z or q.
    commands.push(await k.matmulForward(ctx, L.xb, L.xn, P(n.in_proj), T, dm, di, { ...site('in_proj x'), wRow: inRows.x }));
    if (L.z && inRows.z !== null) {
      commands.push(await k.matmulForward(ctx, L.z, L.xn, P(n.in_proj), T, dm, di, { ...site('in_proj z'), wRow: inRows.z }));
    }
    if (L.v && inRows.v !== null) {
      commands.push(await k.matmulForward(ctx, L.v, L.xn, P(n.in_proj), T, dm, di, { ...site('in_proj v'), wRow: inRows.v }));
    }

    if (h3) {
      // k̄ = conv1d(k) without activation (the shift SSM; the kernel writes k̄ to both outputs), then u = k̄ ⊙ v.
      if (L.pre) {
        commands.push(await k.conv1dSiluForward(ctx, L.pre, L.u, L.xb, P(n.conv_w), P(n.conv_b), b, l, di, dConv, 'identity',
          site('conv1d')));
      }
      commands.push(await k.siluGateForward(ctx, L.u, L.pre ?? L.xb, present(L.v, 'v'), T * di, 'identity', site('k ⊙ v')));
    } else if (L.pre) {
      commands.push(await k.conv1dSiluForward(ctx, L.pre, L.u, L.xb, P(n.conv_w), P(n.conv_b), b, l, di, dConv, 'silu', site('conv1d')));
    } else {
      commands.push(await k.siluForward(ctx, L.u, L.xb, T * di, site('silu')));
    }

    // x_proj rows are [Δ low rank | B | C], the selective ones only; dt_proj reads Δ's columns, and its bias is added in the scan.
    if (L.xdbl) commands.push(await k.matmulForward(ctx, L.xdbl, L.u, P(n.x_proj), T, di, R, site('x_proj')));
    if (L.deltaRaw && L.xdbl && cols.delta !== null) {
      commands.push(await k.matmulForward(ctx, L.deltaRaw, { buffer: L.xdbl, offset: cols.delta }, P(n.dt_w), T, dtRank, di,
        { ...site('dt_proj'), xRowStride: R }));
    }

    const inputs = scanTensors(cfg, L, P, i);
    if (fb.scanPlan) {
      commands.push(await fused.selectiveScanFusedForward(ctx, L.y, null, scanBuffer(L.scanWorkspace, 'scan workspace', fb.scan),
        inputs, scanShape(cfg, b, l), fb.scanPlan, site('scan')));
    } else {
      // Without a gate the scan writes the layer's output directly.
      const yPre = L.z ? scanBuffer(L.yPre, 'scan y', fb.scan) : L.y;
      commands.push(await k.selectiveScanForward(ctx, yPre, scanBuffer(L.delta, 'delta', fb.scan), scanBuffer(L.states, 'states', fb.scan),
        inputs, scanShape(cfg, b, l), site('scan')));
      if (L.z) commands.push(await k.siluGateForward(ctx, L.y, yPre, L.z, T * di, inputs.gate, site('gate')));
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

/**
 * Training buffers that do not depend on the architecture: the batch's targets and
 * mask, the step uniform, the metrics sums, gradients, AdamW state, the clip and the
 * loss rows. allocateLossAndOptimizer makes them; lossCommands and optimizerCommands use them.
 */
export interface LossAndOptimizerBuffers {
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
  lossRows: GPUBuffer; // (b·l)
  correct: GPUBuffer; // (b·l)
  dlogits: GPUBuffer; // (b·l, vocab)
}

/** Allocates the loss and optimizer buffers of a training step over `tokens` positions. */
export function allocateLossAndOptimizer(ctx: GpuContext, layout: ParamLayout, tokens: number, vocab: number): LossAndOptimizerBuffers {
  const buf = (role: string, floats: number) => ctx.createStorage(`train: ${role}`, floats);
  // adamw.wgsl reads one weight decay flag per 64-float block; every tensor starts on a block boundary.
  const flags = new Uint32Array(layout.totalSize / 64);
  for (const e of layout.entries) flags.fill(e.decay ? 1 : 0, e.offset / 64, Math.ceil((e.offset + e.size) / 64));
  return {
    targets: buf('targets', tokens),
    mask: buf('mask', tokens),
    step: ctx.createBuffer('train: step uniform', 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
    metrics: buf('metrics', 4),
    grads: buf('grads', layout.totalSize),
    m: buf('adamw m', layout.totalSize),
    v: buf('adamw v', layout.totalSize),
    decayFlags: ctx.upload('train: decay flags', flags),
    clip: buf('clip', 2),
    lossRows: buf('loss rows', tokens),
    correct: buf('correct', tokens),
    dlogits: buf('dlogits', tokens * vocab),
  };
}

/** Commands that start a training step: clear the gradients, then the loss, ∂L/∂logits and the metrics sums. */
export async function lossCommands(
  ctx: GpuContext, logits: GPUBuffer, tb: LossAndOptimizerBuffers, tokens: number, vocab: number,
): Promise<Command[]> {
  return [
    { kind: 'clear', buffer: tb.grads },
    await k.crossEntropyForwardBackward(ctx, tb.lossRows, tb.correct, tb.dlogits, logits, tb.targets, tb.mask,
      tokens, vocab, tb.step, { label: 'train loss' }),
    await k.metricsAccumulate(ctx, tb.metrics, tb.lossRows, tb.correct, tb.mask, tokens, { label: 'train' }),
  ];
}

/** Commands that end a training step: the global gradient-norm clip and AdamW over the whole flat layout. */
export async function optimizerCommands(
  ctx: GpuContext, layout: ParamLayout, params: GPUBuffer, tb: LossAndOptimizerBuffers, options: TrainOptions,
): Promise<Command[]> {
  return [
    ...(await k.sumOfSquares(ctx, tb.clip, tb.grads, layout.totalSize, options.gradClip, { label: 'train' })),
    await k.adamwUpdate(ctx, params, tb.m, tb.v, tb.grads, tb.decayFlags, tb.clip, layout.totalSize,
      { ...ADAMW, weightDecay: options.weightDecay }, tb.step, { label: 'train' }),
  ];
}

/** Buffers that exist only for training: batch targets, gradients, optimizer state and backward temporaries. */
export interface TrainBuffers extends LossAndOptimizerBuffers {
  dHidden: GPUBuffer;
  dResid: GPUBuffer;
  dY: GPUBuffer;
  /** Gradient of the simple scan's output before the gate; null with the fused scan or without a gate. */
  dYPre: GPUBuffer | null;
  /**
   * dZ, dU and dDelta (of Δ before bias and softplus), each (b·l, d_inner). The
   * fused scan writes all three into one buffer, with dU at offset 0.
   */
  dZ: Tensor;
  dU: Tensor;
  dDelta: Tensor;
  /** (b·l, xdblWidth); a single float when the layer has no x_proj. */
  dXdbl: GPUBuffer;
  /** Per-batch ∂L/∂A_log, fixed B and fixed C of the simple scan (3, b, d_inner, d_state); null with the fused scan. */
  scanParamPartial: GPUBuffer | null;
  /** Scratch of the simple scan's backward (b·l, d_inner, d_state), shared by the layers; null with the fused scan. */
  scanBTerms: GPUBuffer | null;
  dXb: GPUBuffer;
  /** H3's ∂L/∂v (b·l, d_inner); null for the other blocks. */
  dV: GPUBuffer | null;
  /** H3's ∂L/∂k̄, the conv output (b·l, d_inner); null for the other blocks or without the conv. */
  dPre: GPUBuffer | null;
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
  const h3 = cfg.block === 'h3';

  return {
    ...allocateLossAndOptimizer(ctx, layout, T, vocab),
    dHidden: buf('dHidden', T * dm),
    dResid: buf('dResid', T * dm),
    dY: buf('dY', T * di),
    dYPre: scan === 'simple' && cfg.block !== 'no-gate' ? buf('dY before gate', T * di) : null,
    ...allocateScanTokenGrads(buf, scan, b, l, di),
    dXdbl: buf('dXdbl', T * xdblWidth(cfg)),
    scanParamPartial: scan === 'simple' ? buf('scan parameter partials', k.scanParamPartialFloats({ b, d: di, n })) : null,
    scanBTerms: scan === 'simple' ? buf('scan dB terms', T * di * n) : null,
    dXb: buf(h3 ? 'dK' : 'dXb', T * di),
    dV: h3 ? buf('dV', T * di) : null,
    dPre: h3 && cfg.use_conv ? buf('dK conv output', T * di) : null,
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
  const cols = xProjColumns(cfg);
  const inRows = inProjRows(cfg);
  const h3 = cfg.block === 'h3';
  const P = tensorsOf(layout, params);
  const G = tensorsOf(layout, tb.grads);
  const commands = await lossCommands(ctx, fb.logits, tb, T, vocab);

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
    const inputs = scanTensors(cfg, L, P, i);
    const shape = scanShape(cfg, b, l);

    // The residual passes dResid through unchanged; the mixer's part is added by the norm's backward below.
    commands.push(...(await k.matmulBackward(ctx, tb.dY, G(names.out_proj), tb.dResid, L.y, P(names.out_proj), T, di, dm, false,
      site('out_proj'))));
    if (fb.scanPlan) {
      // The fused scan also takes the gate's gradient and adds the gradients of A_log, D, dt_proj's bias and fixed B and C.
      commands.push(...(await fused.selectiveScanFusedBackward(ctx,
        {
          du: tb.dU, dDelta: tb.dDelta, dz: tb.dZ, dXdbl: tb.dXdbl, A_log: G(names.A_log), D: G(names.D), deltaBias: G(names.dt_b),
          B: inputs.B && G(names.B), C: inputs.C && G(names.C),
        },
        tb.dY, scanBuffer(L.scanWorkspace, 'scan workspace', fb.scan), inputs, shape, fb.scanPlan, site('scan'))));
    } else {
      const partial = scanBuffer(tb.scanParamPartial, 'scan parameter partials', fb.scan);
      // Without a gate the scan's output gradient is dY itself.
      let dYScan = tb.dY;
      if (L.z) {
        dYScan = scanBuffer(tb.dYPre, 'dY before gate', fb.scan);
        commands.push(await k.siluGateBackward(ctx, dYScan, tb.dZ, tb.dY, scanBuffer(L.yPre, 'scan y', fb.scan), L.z, T * di,
          inputs.gate, site('gate')));
      }
      commands.push(...(await k.selectiveScanBackward(ctx,
        {
          du: tb.dU.buffer, dDelta: tb.dDelta.buffer, dXdbl: tb.dXdbl, paramPartial: partial,
          dBTerms: scanBuffer(tb.scanBTerms, 'scan dB terms', fb.scan),
        },
        dYScan, scanBuffer(L.states, 'states', fb.scan), scanBuffer(L.delta, 'delta', fb.scan), inputs, shape, site('scan'))));
      const block = b * di * n;
      commands.push(await k.reduceRows(ctx, G(names.A_log), partial, null, b, di * n, site('dA_log')));
      if (inputs.B) commands.push(await k.reduceRows(ctx, G(names.B), { buffer: partial, offset: block }, null, b, di * n, site('dB')));
      if (inputs.C) commands.push(await k.reduceRows(ctx, G(names.C), { buffer: partial, offset: 2 * block }, null, b, di * n, site('dC')));
      commands.push(await k.reduceRows(ctx, G(names.D), dYScan, L.u, T, di, site('dD')));
      commands.push(await k.reduceRows(ctx, G(names.dt_b), tb.dDelta.buffer, null, T, di, site('dt_proj bias')));
    }

    // dt_proj writes Δ's low-rank gradient into its columns of dXdbl, next to ∂L/∂B and ∂L/∂C.
    if (L.deltaRaw && L.xdbl && cols.delta !== null) {
      commands.push(...(await k.matmulBackward(ctx, { buffer: tb.dXdbl, offset: cols.delta }, G(names.dt_w), tb.dDelta,
        { buffer: L.xdbl, offset: cols.delta }, P(names.dt_w), T, dtRank, di, false, { ...site('dt_proj'), xRowStride: R, dxRowStride: R })));
    }
    if (L.xdbl) {
      commands.push(...(await k.matmulBackward(ctx, tb.dU, G(names.x_proj), tb.dXdbl, L.u, P(names.x_proj), T, di, R, true,
        site('x_proj'))));
    }

    if (h3) {
      // u = k̄ ⊙ v, then k̄ = conv1d(k) when the conv is on.
      const dKBar = L.pre ? present(tb.dPre, 'dK conv output') : tb.dXb;
      commands.push(await k.siluGateBackward(ctx, dKBar, present(tb.dV, 'dV'), tb.dU.buffer, L.pre ?? L.xb, present(L.v, 'v'), T * di,
        'identity', site('k ⊙ v')));
      if (L.pre) {
        commands.push(...(await k.conv1dSiluBackward(ctx, tb.dXb, G(names.conv_w), G(names.conv_b), dKBar, L.pre, L.xb,
          P(names.conv_w), b, l, di, dConv, 'identity', site('conv1d'))));
      }
    } else if (L.pre) {
      commands.push(...(await k.conv1dSiluBackward(ctx, tb.dXb, G(names.conv_w), G(names.conv_b), tb.dU.buffer, L.pre, L.xb,
        P(names.conv_w), b, l, di, dConv, 'silu', site('conv1d'))));
    } else {
      commands.push(await k.siluBackward(ctx, tb.dXb, tb.dU, L.xb, T * di, site('silu')));
    }

    commands.push(...(await k.matmulBackward(ctx, tb.dXn, G(names.in_proj), tb.dXb, L.xn, P(names.in_proj), T, dm, di, false,
      { ...site('in_proj x'), wRow: inRows.x })));
    if (L.z && inRows.z !== null) {
      commands.push(...(await k.matmulBackward(ctx, tb.dXn, G(names.in_proj), tb.dZ, L.xn, P(names.in_proj), T, dm, di, true,
        { ...site('in_proj z'), wRow: inRows.z })));
    }
    if (L.v && inRows.v !== null) {
      commands.push(...(await k.matmulBackward(ctx, tb.dXn, G(names.in_proj), present(tb.dV, 'dV'), L.xn, P(names.in_proj), T, dm, di,
        true, { ...site('in_proj v'), wRow: inRows.v })));
    }
    commands.push(...(await k.rmsnormBackward(ctx, tb.dResid, G(names.norm), tb.dXn, residIn, P(names.norm), L.rstd, T, dm,
      site('norm'))));
  }

  commands.push(await k.embeddingBackward(ctx, G('embedding.weight'), tb.dResid, fb.ids, T, dm, vocab, { label: 'train embedding' }));

  commands.push(...(await optimizerCommands(ctx, layout, params, tb, options)));
  return commands;
}
